// An SSH host's key checked against OpenSSH known_hosts files, and new keys recorded there.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../../errors.js';

/**
 * Host key verification against OpenSSH `known_hosts` files, with OpenSSH's semantics:
 * - the host is looked up as `host` on port 22 and as `[host]:port` otherwise, lower-cased;
 * - a line's host field is either a hashed name (`|1|salt|hmac`, written by `ssh-keygen -H`) or
 *   comma-separated patterns with `*` and `?`; a matching `!pattern` excludes the whole line;
 * - `@revoked` keys are refused even when another line accepts them;
 * - any other key on record for the host, whatever its type, makes the key "changed" (OpenSSH
 *   9.2 does the same; it avoids false alarms by asking the server for a key type it already
 *   knows first, which `knownKeyTypes` lets a client do too).
 * Not supported: `@cert-authority` lines (host certificates) are skipped, and there is no
 * CheckHostIP (the address is not looked up separately from the name).
 */

/** One usable line of a known_hosts file. */
export interface KnownHostsEntry {
  /** 1-based line number, for messages. */
  line: number;
  /** An `@revoked` line: this key must never be accepted for the hosts it names. */
  revoked: boolean;
  hosts: HostNames;
  keyType: string;
  keyBlob: Buffer;
}

/** The host field of a line: a hashed name or a list of patterns. */
export type HostNames =
  { kind: 'hashed'; salt: Buffer; hash: Buffer } | { kind: 'patterns'; patterns: readonly HostPattern[] };

export interface HostPattern {
  negated: boolean;
  /** Lower-cased; `*` matches any run of characters, `?` exactly one. */
  glob: string;
}

export type HostKeyStatus =
  | { status: 'match' }
  | { status: 'unknown' }
  | { status: 'changed'; knownFingerprints: string[] }
  | { status: 'revoked' };

// Same text as `ssh-keygen -lf` and the "key fingerprint is" line of `ssh`.
export function fingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a public key blob (its first SSH string), e.g. `ssh-ed25519`. */
export function readKeyType(keyBlob: Buffer): string {
  const keyType = tryReadKeyType(keyBlob);
  if (keyType === undefined)
    throw new InvalidInputError('expected an SSH public key blob, got bytes that do not start with a key type');
  return keyType;
}

/** How known_hosts names a host: `host` on port 22, `[host]:port` otherwise, lower-cased like OpenSSH. */
export function formatKnownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** Parses known_hosts text; blank, comment, `@cert-authority` and malformed lines are skipped as OpenSSH skips them. */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const fields = raw.trim().split(/[ \t]+/);
    if (fields[0] === '' || fields[0]!.startsWith('#')) continue;
    let revoked = false;
    if (fields[0]!.startsWith('@')) {
      // `@cert-authority` needs certificate support; an unknown marker makes the line invalid.
      if (fields[0] !== '@revoked') continue;
      revoked = true;
      fields.shift();
    }
    const [hostField, keyType, keyBase64] = fields;
    if (hostField === undefined || keyType === undefined || keyBase64 === undefined) continue;
    const hosts = parseHostNames(hostField);
    const keyBlob = decodeBase64(keyBase64);
    if (hosts === undefined || keyBlob === undefined || tryReadKeyType(keyBlob) !== keyType) continue;
    entries.push({ line: index + 1, revoked, hosts, keyType, keyBlob });
  }
  return entries;
}

/** Reads and parses one known_hosts file; a missing file has no entries. */
export async function readKnownHosts(file: string): Promise<KnownHostsEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** What the known_hosts entries say about the key a server presented. */
export function checkHostKey(
  entries: readonly KnownHostsEntry[],
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
): HostKeyStatus {
  const name = formatKnownHostsName(host, port);
  const forHost = entries.filter((entry) => matchesHost(entry.hosts, name));
  const isThisKey = (entry: KnownHostsEntry): boolean => entry.keyType === keyType && entry.keyBlob.equals(keyBlob);
  if (forHost.some((entry) => entry.revoked && isThisKey(entry))) return { status: 'revoked' };
  const known = forHost.filter((entry) => !entry.revoked);
  if (known.some(isThisKey)) return { status: 'match' };
  if (known.length === 0) return { status: 'unknown' };
  return { status: 'changed', knownFingerprints: [...new Set(known.map((entry) => fingerprintSha256(entry.keyBlob)))] };
}

/**
 * Key types on record for a host, in file order. A client that offers these first in its host
 * key algorithms gets a key it can verify instead of a "changed" for a key of another type.
 */
export function knownKeyTypes(entries: readonly KnownHostsEntry[], host: string, port: number): string[] {
  const name = formatKnownHostsName(host, port);
  const types = entries
    .filter((entry) => !entry.revoked && matchesHost(entry.hosts, name))
    .map((entry) => entry.keyType);
  return [...new Set(types)];
}

/** The line `accept-new` records for a host: plain name, `[host]:port` off port 22, no newline. */
export function knownHostsLine(host: string, port: number, keyType: string, keyBlob: Buffer): string {
  // Such a name would be read back as several patterns, a wildcard, a hash or a marker.
  if (host === '' || /[\s,*?!|#@]/.test(host)) {
    throw new InvalidInputError(`cannot record host "${host}" in known_hosts: use a plain host name or address`);
  }
  return `${formatKnownHostsName(host, port)} ${keyType} ${keyBlob.toString('base64')}`;
}

/**
 * Appends one line to a known_hosts file, creating its directory (0700) and the file (0600) when
 * missing. One O_APPEND write keeps concurrent writers from interleaving inside a line.
 */
export async function appendKnownHost(file: string, line: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a+', 0o600);
  try {
    // A file whose last line lacks its newline would otherwise swallow ours.
    const { size } = await handle.stat();
    let separator = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) separator = '\n';
    }
    await handle.appendFile(`${separator}${line}\n`);
  } finally {
    await handle.close();
  }
}

function matchesHost(hosts: HostNames, name: string): boolean {
  if (hosts.kind === 'hashed') {
    const hash = createHmac('sha1', hosts.salt).update(name).digest();
    return hash.length === hosts.hash.length && timingSafeEqual(hash, hosts.hash);
  }
  let positive = false;
  for (const pattern of hosts.patterns) {
    if (!matchGlob(name, pattern.glob)) continue;
    if (pattern.negated) return false;
    positive = true;
  }
  return positive;
}

function parseHostNames(field: string): HostNames | undefined {
  if (field.startsWith('|')) {
    // `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`; 1 is the only hash type OpenSSH defines.
    const [, magic, salt, hash, extra] = field.split('|');
    if (magic !== '1' || salt === undefined || hash === undefined || extra !== undefined) return undefined;
    const saltBytes = decodeBase64(salt);
    const hashBytes = decodeBase64(hash);
    if (saltBytes?.length !== 20 || hashBytes?.length !== 20) return undefined;
    return { kind: 'hashed', salt: saltBytes, hash: hashBytes };
  }
  const patterns = field
    .split(',')
    .filter((item) => item !== '' && item !== '!')
    .map((item) => ({
      negated: item.startsWith('!'),
      glob: (item.startsWith('!') ? item.slice(1) : item).toLowerCase(),
    }));
  return patterns.length > 0 ? { kind: 'patterns', patterns } : undefined;
}

// OpenSSH's match_pattern: `*` any run (also empty), `?` one character, everything else literal.
function matchGlob(text: string, glob: string): boolean {
  let t = 0;
  let g = 0;
  let starG = -1;
  let starT = 0;
  while (t < text.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === text[t])) {
      t++;
      g++;
    } else if (g < glob.length && glob[g] === '*') {
      starG = g++;
      starT = t;
    } else if (starG >= 0) {
      g = starG + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}

function decodeBase64(text: string): Buffer | undefined {
  // Buffer.from skips bad characters silently; a corrupted key must not half-decode.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function tryReadKeyType(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || keyBlob.length < 4 + length) return undefined;
  const keyType = keyBlob.subarray(4, 4 + length).toString('latin1');
  return /^[\x21-\x7e]+$/.test(keyType) ? keyType : undefined;
}
