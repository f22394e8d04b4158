import { createHmac } from 'node:crypto';
import { Webhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { generateWebhookSecret, signWebhook, webhookHeaders } from '../../src/notify/webhook-signature.js';

// The example from Svix's documentation and test suites.
const SVIX_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SVIX_MSG_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const SVIX_TIMESTAMP = 1614265330;
const SVIX_BODY = '{"test": 2432232314}';

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('webhook signatures', () => {
  it('match an HMAC-SHA256 computed independently with node:crypto', () => {
    const key = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
    const expected = createHmac('sha256', key).update(`${SVIX_MSG_ID}.${SVIX_TIMESTAMP}.${SVIX_BODY}`).digest('base64');

    expect(signWebhook(SVIX_SECRET, SVIX_MSG_ID, SVIX_TIMESTAMP, SVIX_BODY)).toBe(`v1,${expected}`);
    expect(signWebhook(SVIX_SECRET, SVIX_MSG_ID, SVIX_TIMESTAMP, SVIX_BODY)).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('accept a secret without the whsec_ prefix as the same base64 key', () => {
    expect(signWebhook('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', SVIX_MSG_ID, SVIX_TIMESTAMP, SVIX_BODY)).toBe(
      signWebhook(SVIX_SECRET, SVIX_MSG_ID, SVIX_TIMESTAMP, SVIX_BODY),
    );
  });

  it('are accepted by the svix library for the body we sent', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ taskId: 't-1', status: 'succeeded', note: 'ünïcödé ✓' });
    const headers = webhookHeaders(secret, 'msg_1', nowSeconds(), body);

    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('are rejected by the svix library when one byte of the body changes', () => {
    const secret = generateWebhookSecret();
    const body = '{"status":"succeeded"}';
    const headers = webhookHeaders(secret, 'msg_2', nowSeconds(), body);

    expect(() => new Webhook(secret).verify('{"status":"succeedeD"}', headers)).toThrow();
  });

  it('are rejected by the svix library under a different secret', () => {
    const body = '{"status":"failed"}';
    const headers = webhookHeaders(generateWebhookSecret(), 'msg_3', nowSeconds(), body);

    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('refuse empty or malformed secrets with an error that says how to get a good one', () => {
    for (const bad of ['', 'whsec_', 'whsec_not base64!', 'whsec_abc$', 'whsec_QQ=x']) {
      const attempt = () => signWebhook(bad, 'msg', 1, '{}');
      expect(attempt).toThrow(InvalidInputError);
      expect(attempt).toThrow(/generateWebhookSecret/);
    }
  });

  it('refuse a timestamp that is not whole Unix seconds', () => {
    expect(() => signWebhook(SVIX_SECRET, 'msg', 1.5, '{}')).toThrow(InvalidInputError);
    expect(() => signWebhook(SVIX_SECRET, 'msg', -1, '{}')).toThrow(InvalidInputError);
    expect(() => signWebhook(SVIX_SECRET, 'msg', Date.now(), '{}')).toThrow(/looks like milliseconds/);
  });
});

describe('webhook headers', () => {
  it('carry id, timestamp, content type, user agent and a signature when a secret is given', () => {
    const headers = webhookHeaders(SVIX_SECRET, SVIX_MSG_ID, SVIX_TIMESTAMP, SVIX_BODY);

    expect(headers).toEqual({
      'content-type': 'application/json',
      'user-agent': 'openclaw-agent',
      'webhook-id': SVIX_MSG_ID,
      'webhook-timestamp': String(SVIX_TIMESTAMP),
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('leave out the signature when there is no secret', () => {
    const headers = webhookHeaders(undefined, 'msg_4', 1_700_000_000, '{}');

    expect(headers).not.toHaveProperty('webhook-signature');
    expect(headers['webhook-id']).toBe('msg_4');
    expect(headers['webhook-timestamp']).toBe('1700000000');
  });
});

describe('webhook secrets', () => {
  it('are whsec_ followed by 32 random bytes in base64', () => {
    const first = generateWebhookSecret();
    const second = generateWebhookSecret();

    expect(first).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(first.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(first).not.toBe(second);
  });
});
