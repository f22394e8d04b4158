// This package's version, read once from its package.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let version: string | undefined;

/**
 * This package's version, from its package.json: the nearest one named `openclaw-agent` above
 * this module (the plain modules, the bundles and the sources sit at different depths).
 */
export function packageVersion(): string {
  if (version !== undefined) return version;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'openclaw-agent' && typeof pkg.version === 'string') return (version = pkg.version);
    } catch {
      // not here: one level up
    }
  }
  return (version = '0.0.0');
}
