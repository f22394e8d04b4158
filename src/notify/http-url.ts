// The http(s) URLs that announcements go to: webhooks, callback URLs, the OpenClaw gateway.
import { z } from 'zod';

/**
 * An http(s) URL with no user or password in it: fetch refuses to send one (every attempt would
 * fail, for a day of retries), and the password would be shown wherever the URL is. `error` is
 * said of a URL that is no http(s) URL; `credentials` of one that carries them (the value itself
 * is never quoted back).
 */
export function httpUrlSchema(messages: { error: string; credentials: string }) {
  return z
    .url({ protocol: /^https?$/, error: messages.error })
    .refine((url) => !hasUrlCredentials(url), { message: messages.credentials, params: { quiet: true } });
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
