// Standard Webhooks signatures: the headers a webhook carries and how a receiver checks them.
import { createHmac, randomBytes } from 'node:crypto';
import { ConfigError, InvalidInputError } from '../errors.js';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), the scheme Svix uses: a receiver
 * checks `webhook-signature` against an HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${body}`
 * keyed with the shared `whsec_` secret, so any Standard Webhooks or Svix library can verify us.
 */

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// Unix seconds reach 1e11 in the year 5138; Date.now() passed by mistake is already past it.
const MILLISECONDS_LOOKALIKE = 1e11;

/** The environment variable holding the webhook secret; it wins over `defaults.webhook_secret`. */
export const WEBHOOK_SECRET_ENV = 'OPENCLAW_AGENT_WEBHOOK_SECRET';

/** What a webhook secret must be and how to make one, for the messages that refuse a bad one. */
export const WEBHOOK_SECRET_FORM =
  '`whsec_` followed by base64 of the key (Standard Webhooks) — make one with ' +
  '`echo "whsec_$(openssl rand -base64 32)"` and give the receiver the same';

/**
 * The webhook secret: `OPENCLAW_AGENT_WEBHOOK_SECRET`, else `fromConfig` (`defaults.webhook_secret`);
 * undefined sends unsigned webhooks. A ConfigError, naming where it came from but not its value,
 * when it is not `whsec_` + base64.
 */
export function resolveWebhookSecret(fromConfig: string | undefined): string | undefined {
  const fromEnv = process.env[WEBHOOK_SECRET_ENV];
  const [secret, source] = fromEnv ? [fromEnv, `$${WEBHOOK_SECRET_ENV}`] : [fromConfig, '`defaults.webhook_secret`'];
  if (secret !== undefined && !isWebhookSecret(secret)) {
    throw new ConfigError(`Expected ${source} to be ${WEBHOOK_SECRET_FORM}`);
  }
  return secret;
}

// The key of `whsec_<base64>` (or bare base64), decoded strictly, because Buffer.from silently
// skips bad characters; undefined when it is not that.
function decodeWebhookKey(secret: string): Buffer | undefined {
  const encoded = secret.trim().startsWith(SECRET_PREFIX) ? secret.trim().slice(SECRET_PREFIX.length) : secret.trim();
  const unpadded = encoded.replace(/=+$/, '');
  const padded = unpadded.padEnd(Math.ceil(unpadded.length / 4) * 4, '=');
  const key = Buffer.from(padded, 'base64');
  if (!BASE64.test(encoded) || key.length === 0 || key.toString('base64') !== padded) return undefined;
  return key;
}

/** Whether `secret` is `whsec_` + base64 of a key (bare base64 too, as Svix reads it): one we can sign with. */
export function isWebhookSecret(secret: string): boolean {
  return decodeWebhookKey(secret) !== undefined;
}

function decodeSecret(secret: string): Buffer {
  const key = decodeWebhookKey(secret);
  if (key === undefined) {
    throw new InvalidInputError(
      'Expected the webhook secret to be `whsec_` followed by base64 — create one with generateWebhookSecret()',
    );
  }
  return key;
}

// Signs one delivery; call it again for every retry, since the timestamp is part of what is signed.
export function signWebhook(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new InvalidInputError(`Expected the webhook timestamp to be whole Unix seconds, got \`${timestampSeconds}\``);
  }
  if (timestampSeconds >= MILLISECONDS_LOOKALIKE) {
    throw new InvalidInputError(
      `Expected the webhook timestamp in Unix seconds, got \`${timestampSeconds}\` — ` +
        'that looks like milliseconds; divide by 1000',
    );
  }
  const mac = createHmac('sha256', decodeSecret(secret)).update(`${msgId}.${timestampSeconds}.${body}`, 'utf8');
  return `v1,${mac.digest('base64')}`;
}

/**
 * The headers of one delivery. `webhook-signature` is present only when `secret` is defined; an
 * empty or malformed secret throws rather than sending unsigned.
 */
export function webhookHeaders(
  secret: string | undefined,
  msgId: string,
  timestampSeconds: number,
  body: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'openclaw-agent',
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
  };
  if (secret !== undefined) headers['webhook-signature'] = signWebhook(secret, msgId, timestampSeconds, body);
  return headers;
}

// Makes a fresh secret to hand to a receiver: `whsec_` + base64 of 32 random bytes.
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}
