// Saves V8's code cache for the CLI bundle, made by the Node that runs this (a cache made by
// another Node version is rejected, and the bundle is then compiled from source at every start):
// `npm run build` runs it after bundling; .ci/node24.mjs runs it under Node 24 for its run.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli/openclaw-agent.cjs', import.meta.url));
const { cacheFileOf, loadBundle } = await import('../dist/cli/bundle-loader.cjs');
rmSync(cacheFileOf(bundle), { force: true });
const loaded = loadBundle(bundle);
// Everything a command may load is compiled before the cache is taken.
await loaded.exports.warm(bundle);
loaded.saveCache();
