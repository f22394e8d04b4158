import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  knownHostsLine,
  knownKeyTypes,
  parseKnownHosts,
  readKeyType,
  readKnownHosts,
} from '../../src/executors/ssh/known-hosts.js';
import { isUserFacingError } from '../../src/errors.js';

interface Key {
  type: string;
  base64: string;
  blob: Buffer;
  pubFile: string;
}

let dir: string;
const keys: Record<'a' | 'b' | 'c' | 'ecdsa' | 'rsa', Key> = {} as never;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'oca-known-hosts-'));
  const specs = {
    a: ['ed25519'],
    b: ['ed25519'],
    c: ['ed25519'],
    ecdsa: ['ecdsa', '-b', '256'],
    rsa: ['rsa', '-b', '1024'],
  } as const;
  for (const [name, [type, ...bits]] of Object.entries(specs)) {
    const file = path.join(dir, `key-${name}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', name, '-f', file]);
    const [keyType, base64] = readFileSync(`${file}.pub`, 'utf8').split(' ');
    keys[name as keyof typeof keys] = {
      type: keyType!,
      base64: base64!,
      blob: Buffer.from(base64!, 'base64'),
      pubFile: `${file}.pub`,
    };
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const line = (hosts: string, key: Key): string => `${hosts} ${key.type} ${key.base64}`;

function writeFile(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

// Line numbers `ssh-keygen -F` (OpenSSH's own lookup) reports for a host name.
function sshKeygenFind(file: string, name: string): number[] {
  let out = '';
  try {
    out = execFileSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  } catch (error) {
    // Exit status 1 means no line matched.
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
  return [...out.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
}

const check = (text: string, host: string, port: number, key: Key) =>
  checkHostKey(parseKnownHosts(text), host, port, key.type, key.blob);

describe('fingerprintSha256', () => {
  it('prints the same fingerprint as ssh-keygen -lf for ed25519, ecdsa and rsa keys', () => {
    for (const key of Object.values(keys)) {
      const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', key.pubFile], { encoding: 'utf8' });
      expect(fingerprintSha256(key.blob)).toBe(out.split(' ')[1]);
    }
  });

  it('reads the key type out of the blob', () => {
    expect(readKeyType(keys.a.blob)).toBe('ssh-ed25519');
    expect(readKeyType(keys.ecdsa.blob)).toBe('ecdsa-sha2-nistp256');
    expect(() => readKeyType(Buffer.from([0, 0]))).toThrow(/SSH public key blob/);
  });
});

describe('checkHostKey', () => {
  it('matches a [host]:port entry only on that port', () => {
    const text = line('[127.0.0.1]:2222', keys.a);
    expect(check(text, '127.0.0.1', 2222, keys.a)).toEqual({ status: 'match' });
    expect(check(text, '127.0.0.1', 22, keys.a)).toEqual({ status: 'unknown' });
    expect(check(text, '127.0.0.1', 2223, keys.a)).toEqual({ status: 'unknown' });
    expect(check(text, '127.0.0.2', 2222, keys.a)).toEqual({ status: 'unknown' });
  });

  it('matches a bare name on port 22, case-insensitively, and any of comma-separated names', () => {
    const text = line('alpha,Example.COM,[127.0.0.1]:2222', keys.a);
    expect(check(text, 'example.com', 22, keys.a)).toEqual({ status: 'match' });
    expect(check(text, 'EXAMPLE.com', 22, keys.a)).toEqual({ status: 'match' });
    expect(check(text, 'alpha', 22, keys.a)).toEqual({ status: 'match' });
    expect(check(text, '127.0.0.1', 2222, keys.a)).toEqual({ status: 'match' });
    expect(check(text, 'example.com', 2222, keys.a)).toEqual({ status: 'unknown' });
  });

  it('reports a changed key with the fingerprints on record', () => {
    const text = [line('[127.0.0.1]:2222', keys.a), line('[127.0.0.1]:2222', keys.b), line('other', keys.c)].join('\n');
    expect(check(text, '127.0.0.1', 2222, keys.c)).toEqual({
      status: 'changed',
      knownFingerprints: [fingerprintSha256(keys.a.blob), fingerprintSha256(keys.b.blob)],
    });
    expect(check(text, '127.0.0.1', 2222, keys.b)).toEqual({ status: 'match' });
  });

  it('treats a key of another type on record as changed, as OpenSSH does, and names the known types', () => {
    const text = line('[127.0.0.1]:2222', keys.ecdsa);
    expect(check(text, '127.0.0.1', 2222, keys.a)).toEqual({
      status: 'changed',
      knownFingerprints: [fingerprintSha256(keys.ecdsa.blob)],
    });
    expect(knownKeyTypes(parseKnownHosts(text), '127.0.0.1', 2222)).toEqual(['ecdsa-sha2-nistp256']);
    expect(knownKeyTypes(parseKnownHosts(text), '127.0.0.1', 22)).toEqual([]);
  });

  it('finds hosts in a file hashed by ssh-keygen -H', () => {
    const file = writeFile('hashed', [line('[127.0.0.1]:2222', keys.a), line('build.example.com', keys.b)]);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'pipe' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain('example.com');
    expect(text.match(/^\|1\|/gm)).toHaveLength(2);

    expect(check(text, '127.0.0.1', 2222, keys.a)).toEqual({ status: 'match' });
    expect(check(text, 'build.example.com', 22, keys.b)).toEqual({ status: 'match' });
    expect(check(text, 'BUILD.example.com', 22, keys.b)).toEqual({ status: 'match' });
    expect(check(text, '127.0.0.1', 2222, keys.c)).toEqual({
      status: 'changed',
      knownFingerprints: [fingerprintSha256(keys.a.blob)],
    });
    expect(check(text, '127.0.0.1', 22, keys.a)).toEqual({ status: 'unknown' });
    expect(check(text, 'build.example.com', 2222, keys.b)).toEqual({ status: 'unknown' });
  });

  it('follows wildcards and negations the way ssh-keygen -F does', () => {
    const lines = [
      line('*.example.com,!bad.example.com', keys.a),
      line('!evil.test,host?.test', keys.b),
      line('[10.0.0.*]:2222', keys.c),
      line('*', keys.ecdsa),
    ];
    const file = writeFile('patterns', lines);
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    const names: Array<[string, number]> = [
      ['a.example.com', 22],
      ['deep.a.example.com', 22],
      ['example.com', 22],
      ['bad.example.com', 22],
      ['host1.test', 22],
      ['host12.test', 22],
      ['evil.test', 22],
      ['10.0.0.7', 2222],
      ['10.0.0.7', 22],
      ['a.example.com', 2222],
    ];
    for (const [host, port] of names) {
      const name = port === 22 ? host : `[${host}]:${port}`;
      const ours = entries.filter((entry) => knownKeyTypes([entry], host, port).length > 0).map((entry) => entry.line);
      expect({ name, lines: ours }).toEqual({ name, lines: sshKeygenFind(file, name) });
    }
    // Spot checks, so the comparison above cannot pass by both sides finding nothing.
    expect(checkHostKey(entries, 'a.example.com', 22, keys.a.type, keys.a.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(entries, 'bad.example.com', 22, keys.a.type, keys.a.blob).status).toBe('changed');
    expect(checkHostKey(entries, 'host1.test', 22, keys.b.type, keys.b.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(entries, '10.0.0.7', 2222, keys.c.type, keys.c.blob)).toEqual({ status: 'match' });
  });

  it('excludes a line whose negated pattern matches, wherever the negation stands', () => {
    expect(check(line('!bad.example.com,*.example.com', keys.a), 'bad.example.com', 22, keys.a)).toEqual({
      status: 'unknown',
    });
    expect(check(line('*.example.com,!bad.example.com', keys.a), 'bad.example.com', 22, keys.a)).toEqual({
      status: 'unknown',
    });
    expect(check(line('!bad.example.com', keys.a), 'good.example.com', 22, keys.a)).toEqual({ status: 'unknown' });
  });

  it('refuses a revoked key even when another line accepts it', () => {
    const text = [line('[127.0.0.1]:2222', keys.a), `@revoked ${line('*', keys.a)}`].join('\n');
    expect(check(text, '127.0.0.1', 2222, keys.a)).toEqual({ status: 'revoked' });
    // The revocation names the key, not the host: the host's other keys still verify.
    expect(check([text, line('[127.0.0.1]:2222', keys.b)].join('\n'), '127.0.0.1', 2222, keys.b)).toEqual({
      status: 'match',
    });
    // A revoked key is not "on record": presenting another key for a host with only a revocation is unknown.
    expect(check(`@revoked ${line('*', keys.a)}`, '127.0.0.1', 2222, keys.b)).toEqual({ status: 'unknown' });
    // The revocation applies only to the hosts it names.
    expect(
      check(
        [line('[127.0.0.1]:2222', keys.a), `@revoked ${line('elsewhere', keys.a)}`].join('\n'),
        '127.0.0.1',
        2222,
        keys.a,
      ),
    ).toEqual({
      status: 'match',
    });
  });

  it('reports revoked rather than changed for a revoked key the host never had', () => {
    const text = [line('[127.0.0.1]:2222', keys.a), `@revoked ${line('[127.0.0.1]:2222', keys.b)}`].join('\n');
    expect(check(text, '127.0.0.1', 2222, keys.b)).toEqual({ status: 'revoked' });
  });
});

describe('parseKnownHosts', () => {
  it('skips blank, comment, @cert-authority and malformed lines and keeps line numbers', () => {
    const text = [
      '# a comment',
      '',
      '   ',
      `@cert-authority ${line('*.example.com', keys.a)}`,
      `@bogus ${line('x', keys.a)}`,
      'truncated ssh-ed25519',
      `bad-base64 ${keys.a.type} ${keys.a.base64.slice(0, 10)}!!${keys.a.base64.slice(10)}`,
      `wrong-type ssh-rsa ${keys.a.base64}`,
      `|1|bm90LWEtc2FsdA==|c2hvcnQ= ${keys.a.type} ${keys.a.base64}`,
      `\t${line('good', keys.b)} trailing comment words`,
    ].join('\r\n');
    const entries = parseKnownHosts(text);
    expect(entries.map((e) => [e.line, e.keyType, e.revoked])).toEqual([[10, 'ssh-ed25519', false]]);
    expect(entries[0]!.keyBlob.equals(keys.b.blob)).toBe(true);
    // The CA line is not a host key: it neither matches nor counts as a changed key.
    expect(check(text, 'a.example.com', 22, keys.a)).toEqual({ status: 'unknown' });
  });

  it('reads a missing file as empty', async () => {
    await expect(readKnownHosts(path.join(dir, 'nope', 'known_hosts'))).resolves.toEqual([]);
  });
});

describe('knownHostsLine and appendKnownHost', () => {
  it('writes lines OpenSSH finds and fingerprints identically', async () => {
    const file = path.join(dir, 'new', 'ssh', 'known_hosts');
    await appendKnownHost(file, knownHostsLine('127.0.0.1', 2222, keys.a.type, keys.a.blob));
    await appendKnownHost(file, knownHostsLine('Build.Example.com', 22, keys.b.type, keys.b.blob));
    expect(readFileSync(file, 'utf8')).toBe(
      `[127.0.0.1]:2222 ${keys.a.type} ${keys.a.base64}\nbuild.example.com ${keys.b.type} ${keys.b.base64}\n`,
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);

    expect(sshKeygenFind(file, '[127.0.0.1]:2222')).toEqual([1]);
    expect(sshKeygenFind(file, 'build.example.com')).toEqual([2]);
    const listed = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listed.map((l) => l.split(' ')[1])).toEqual([
      fingerprintSha256(keys.a.blob),
      fingerprintSha256(keys.b.blob),
    ]);

    const entries = await readKnownHosts(file);
    expect(checkHostKey(entries, '127.0.0.1', 2222, keys.a.type, keys.a.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(entries, 'build.example.com', 22, keys.b.type, keys.b.blob)).toEqual({ status: 'match' });
  });

  it('starts a new line when the file does not end with one', async () => {
    const file = writeFile('no-newline', []);
    writeFileSync(file, line('other', keys.c));
    await appendKnownHost(file, knownHostsLine('127.0.0.1', 2222, keys.a.type, keys.a.blob));
    const entries = await readKnownHosts(file);
    expect(entries.map((e) => e.line)).toEqual([1, 2]);
    expect(checkHostKey(entries, '127.0.0.1', 2222, keys.a.type, keys.a.blob)).toEqual({ status: 'match' });
  });

  it('refuses host names that would read back as patterns, lists or markers', () => {
    for (const host of ['a,b', 'a b', '*.example.com', 'host?', '!host', '|1|x', '@revoked', '']) {
      let thrown: unknown;
      try {
        knownHostsLine(host, 22, keys.a.type, keys.a.blob);
      } catch (error) {
        thrown = error;
      }
      expect(isUserFacingError(thrown) && thrown.code).toBe('INVALID_INPUT');
    }
  });
});
