#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadBundle } from './bundle-loader.js';

// The whole CLI (oclif, commands, library, dependencies) is one bundle built by `npm run build`;
// loading it with its code cache is what keeps a command's start-up short.
const bundle = fileURLToPath(new URL('./openclaw-agent.cjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write(`openclaw-agent: ${bundle} is missing — run \`npm run build\` first\n`);
  process.exitCode = 1;
} else {
  await loadBundle(bundle).exports.main(process.argv.slice(2), bundle);
}
