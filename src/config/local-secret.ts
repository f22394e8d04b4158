// The local secret: a random key in the data directory that the dashboard wants for writes when
// it has no token, and that programs of the same user on this machine read to make them.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { escapeControls } from '../text/escape.js';
import { dataDir } from './paths.js';

/** What the local secret's file holds: 64 hex digits and a newline. */
const SECRET_PATTERN = /^[0-9a-f]{64}$/;

/** Where the local secret lives: `local-secret` in the data directory (`home`). */
export function localSecretPath(home: string = dataDir()): string {
  return path.join(home, 'local-secret');
}

/**
 * The local secret of the data directory `home`, or undefined when none was made yet. Refuses a
 * file other users may read, or one this program did not write, in one line that never quotes it.
 */
export async function readLocalSecret(home: string = dataDir()): Promise<string | undefined> {
  const file = localSecretPath(home);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ConfigError(`cannot read the local secret ${escapeControls(file)} (${code ?? String(error)})`);
  }
  if (process.platform !== 'win32') {
    const mode = (await stat(file)).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new ConfigError(
        `the local secret ${escapeControls(file)} may be read by other users (mode ${mode.toString(8)}): delete it, and a new one is made at the next dashboard start`,
      );
  }
  const secret = text.trim();
  if (!SECRET_PATTERN.test(secret))
    throw new ConfigError(
      `the local secret ${escapeControls(file)} is not one this program wrote: delete it, and a new one is made at the next dashboard start`,
    );
  return secret;
}

/**
 * The local secret of `home`, made on first use: 32 random bytes written to a private temporary
 * file (0600, in a 0700 directory when this makes it) and linked into place, so that of two
 * processes starting at once one link wins and both read the same secret.
 */
export async function ensureLocalSecret(home: string = dataDir()): Promise<string> {
  const existing = await readLocalSecret(home);
  if (existing !== undefined) return existing;
  const file = localSecretPath(home);
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(home, { recursive: true, mode: 0o700 });
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(`${randomBytes(32).toString('hex')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // link(2) fails when the name exists: the first process's secret stays, whole.
    await link(temp, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `cannot make the local secret ${escapeControls(file)} (${(error as NodeJS.ErrnoException).code ?? String(error)}): set OPENCLAW_AGENT_HOME to a directory of yours, or give the dashboard a token`,
    );
  } finally {
    await rm(temp, { force: true }).catch(() => {});
  }
  const secret = await readLocalSecret(home);
  if (secret === undefined)
    throw new ConfigError(`the local secret ${escapeControls(file)} vanished as it was made: start again`);
  return secret;
}
