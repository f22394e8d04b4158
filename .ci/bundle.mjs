// Bundles the library (dist/src) and its dependencies into one ES module that the CLI loads
// lazily: one file starts several times faster than the hundreds of modules behind it.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/index.js'],
  outfile: 'dist/src/index.bundle.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (ioredis) call require(); give the ES module one.
  banner: { js: "import { createRequire as __ocaRequire } from 'node:module'; const require = __ocaRequire(import.meta.url);" },
});
