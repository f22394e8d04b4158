// Bundles the whole CLI (cli/main.ts: oclif, the commands, the library and their dependencies)
// into one CommonJS file, then saves V8's code cache for it. `dist/cli/bin.js` loads the two:
// one file with a code cache starts several times faster than the hundreds of modules behind it.
// The dashboard server gets a bundle of its own; the library stays importable from dist/src.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const outfile = fileURLToPath(new URL('../dist/cli/openclaw-agent.cjs', import.meta.url));
// No cache may outlive the bundle it was made for, even when this build fails half-way.
rmSync(`${outfile}.v8-cache`, { force: true });
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: process.env.OCA_BUNDLE_MINIFY !== '0',
  legalComments: 'none',
  logLevel: 'warning',
  // oclif looks for TypeScript only to run a CLI from its sources; a built CLI never needs it.
  // ssh2's optional native crypto (built only where install scripts ran) stays out: ssh2 falls
  // back to its JavaScript implementation, the same on every machine.
  // dockerode stays a plain dependency, required when a container executor first talks to its
  // engine: bundled, it would bring gRPC and protobuf.js (half a megabyte) into every start-up.
  external: ['typescript', '*.node', 'dockerode'],
  // Library modules that find their neighbours with createRequire(import.meta.url) get the bundle's URL.
  define: { 'import.meta.url': '__ocaBundleUrl' },
  banner: { js: 'var __ocaBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
};
await build({ ...common, entryPoints: ['dist/cli/main.js'], outfile });
// The dashboard server is a bundle of its own (cli/dashboard-loader.ts): Fastify and Bull Board
// would otherwise be read and deserialised by every command.
await build({ ...common, entryPoints: ['dist/bull-board/server.js'], outfile: fileURLToPath(new URL('../dist/bull-board/dashboard.cjs', import.meta.url)) });

// The bundle is run through vm.Script, where import() has no loader: ours must all be static or
// bundled. (oclif's own import() of ESM plugin files is never reached: the commands file is .cjs.)
const literalImports = readFileSync(outfile, 'utf8').match(/\bimport\("[^"]+"\)/g);
if (literalImports) {
  console.error(`bundle: dynamic import() left in ${outfile}: ${literalImports.join(', ')} — import these statically`);
  process.exit(1);
}

const { cacheFileOf, loadBundle } = await import('../dist/cli/bundle-loader.js');
rmSync(cacheFileOf(outfile), { force: true });
const loaded = loadBundle(outfile);
await loaded.exports.warm(outfile);
loaded.saveCache();
