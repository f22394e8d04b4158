// The http(s) URLs that announcements go to: webhooks, callback URLs, the OpenClaw gateway.
import { z } from 'zod';

/**
 * An http(s) URL with no user or password in it: fetch refuses to send one (every attempt would
 * fail, for a day of retries), and the password would be shown wherever the URL is; nor on a port
 * fetch refuses. `error` is said of a URL that is no http(s) URL; `credentials` of one that
 * carries them (the value itself is never quoted back).
 */
export function httpUrlSchema(messages: { error: string; credentials: string }) {
  return z
    .url({ protocol: /^https?$/, error: messages.error })
    .refine((url) => !hasUrlCredentials(url), { message: messages.credentials, params: { quiet: true } })
    .superRefine((url, ctx) => {
      const problem = fetchPortProblem(url);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    });
}

/**
 * The ports fetch never connects to: the Fetch standard's "bad ports", as undici (Node's fetch)
 * lists them in `badPorts`. A URL on one fails every attempt with "bad port".
 */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
  111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
  540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
  6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** Why fetch could never reach an http(s) URL for its port, in one line; undefined when it could. */
export function fetchPortProblem(url: string): string | undefined {
  let port: string;
  try {
    port = new URL(url).port;
  } catch {
    return undefined;
  }
  // An empty port is the scheme's own (80, 443), which fetch takes.
  if (port === '' || !FETCH_BAD_PORTS.has(Number(port))) return undefined;
  return `fetch refuses to connect to port ${port} (a "bad port" of the Fetch standard), so nothing could ever be delivered there: use another port`;
}

/** Whether an http(s) URL carries a user name or a password. */
export function hasUrlCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}

/** `text` with the user and password of every http(s) URL in it masked, for messages and logs. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/\b(https?:\/\/)[^\s/?#@]*@/gi, '$1***@');
}
