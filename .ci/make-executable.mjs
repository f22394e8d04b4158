// npm links bin files with their mode; make the built CLI entry executable.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli/bin.cjs', import.meta.url), 0o755);
