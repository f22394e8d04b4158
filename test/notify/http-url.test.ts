import { describe, expect, it } from 'vitest';
import { FETCH_BAD_PORTS, fetchPortProblem, httpUrlSchema } from '../../src/notify/http-url.js';

// What fetch itself says of a URL: the cause of its failure, without a connection for a bad port.
async function fetchRefusal(url: string): Promise<string | undefined> {
  try {
    await fetch(url, { method: 'POST', signal: AbortSignal.timeout(2000) });
    return undefined;
  } catch (error) {
    const cause = (error as Error).cause;
    return cause instanceof Error ? cause.message : String(cause);
  }
}

describe('fetchPortProblem', () => {
  it('refuses only ports that the fetch of this Node refuses as "bad port"', async () => {
    expect(FETCH_BAD_PORTS.size).toBe(82);
    const refusals = await Promise.all([...FETCH_BAD_PORTS].map((port) => fetchRefusal(`http://127.0.0.1:${port}/h`)));
    expect(new Set(refusals)).toEqual(new Set(['bad port']));
  });

  it('names the port and says fetch refuses it, in one line; a default or other port passes', () => {
    expect(fetchPortProblem('http://127.0.0.1:1/h')).toBe(
      'fetch refuses to connect to port 1 (a "bad port" of the Fetch standard), so nothing could ever be delivered there: use another port',
    );
    expect(fetchPortProblem('https://hooks.example:6667/x')).toMatch(/^fetch refuses to connect to port 6667 /);
    for (const url of [
      'http://127.0.0.1/h',
      'https://hooks.example/x',
      'http://127.0.0.1:80/h',
      'http://127.0.0.1:8080/h',
      'http://127.0.0.1:6664/h',
      'http://127.0.0.1:10081/h',
      'not a url',
    ])
      expect(fetchPortProblem(url), url).toBeUndefined();
  });

  it('makes httpUrlSchema refuse such a URL, after a malformed one and one with credentials', () => {
    const schema = httpUrlSchema({ error: 'not http', credentials: 'no credentials' });
    const first = (url: string) => schema.safeParse(url).error?.issues[0]?.message;
    expect(first('http://127.0.0.1:25/h')).toMatch(/^fetch refuses to connect to port 25 /);
    expect(first('ftp://127.0.0.1:21/h')).toBe('not http');
    expect(first('http://a:b@127.0.0.1:21/h')).toBe('no credentials');
    expect(schema.safeParse('http://127.0.0.1:18789').success).toBe(true);
  });
});
