// Bundles the whole CLI (cli/main.ts: oclif, the commands, the library and their dependencies)
// into one CommonJS file, then saves V8's code cache for it. `dist/cli/bin.cjs` loads the two:
// one file with a code cache starts several times faster than the hundreds of modules behind it.
// The dashboard server gets a bundle of its own; the library stays importable from dist/src.
import { build } from 'esbuild';
import ts from 'typescript';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  // ssh2 likewise, required by an SSH executor's first connection: with its crypto it is 350 KB
  // that no other command reads.
  external: ['typescript', '*.node', 'dockerode', 'ssh2'],
  plugins: [withoutUnusedParts(), ioredisCommandsInDictionaryMode()],
  // Library modules that find their neighbours with createRequire(import.meta.url) get the bundle's URL.
  define: { 'import.meta.url': '__ocaBundleUrl' },
  banner: { js: 'var __ocaBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
};
// The task panel's browser script is a plain .js file, read at run time from `panel/` next to
// bull-board/panel-assets.js and to dashboard.cjs (both in dist/bull-board); tsc copies no .js.
const panelDir = fileURLToPath(new URL('../dist/bull-board/panel', import.meta.url));
rmSync(panelDir, { recursive: true, force: true });
cpSync(fileURLToPath(new URL('../bull-board/panel', import.meta.url)), panelDir, { recursive: true });
await build({ ...common, entryPoints: ['dist/cli/main.js'], outfile });
asciiOnly(outfile);
// The dashboard server and the MCP server over stdio are bundles of their own (cli/side-bundles.ts):
// Fastify, Bull Board and the MCP SDK would otherwise be read and deserialised by every command.
await build({
  ...common,
  entryPoints: ['dist/bull-board/server.js'],
  outfile: fileURLToPath(new URL('../dist/bull-board/dashboard.cjs', import.meta.url)),
});
await build({
  ...common,
  entryPoints: ['dist/src/mcp/mcp-stdio.js'],
  outfile: fileURLToPath(new URL('../dist/cli/mcp-server.cjs', import.meta.url)),
});

// The bundle is run through vm.Script, where import() has no loader: ours must all be static or
// bundled. (oclif's own import() of ESM plugin files is never reached: the commands file is .cjs.)
const literalImports = readFileSync(outfile, 'utf8').match(/\bimport\("[^"]+"\)/g);
if (literalImports) {
  console.error(`bundle: dynamic import() left in ${outfile}: ${literalImports.join(', ')} — import these statically`);
  process.exit(1);
}

await import('./code-cache.mjs');

/**
 * Parts of dependencies that nothing here uses, left out of the bundles (every start-up reads and
 * initialises what is in them): BullMQ's PostgreSQL backend, which its index loads eagerly (300
 * KB), and zod's error messages in every language but English (260 KB).
 */
function withoutUnusedParts() {
  const stubs = [
    {
      filter: /^\.\/postgres$/,
      importer: /bullmq[\\/]dist[\\/]cjs[\\/]index\.js$/,
      contents: 'module.exports = {};',
      loader: 'js',
    },
    {
      filter: /^\.\.\/locales\/index\.js$/,
      importer: /zod[\\/]v4[\\/]classic[\\/]external\.js$/,
      contents: 'export { default as en } from "zod/v4/locales/en.js";',
      loader: 'js',
    },
  ];
  return {
    name: 'without-unused-parts',
    setup(pluginBuild) {
      for (const [index, stub] of stubs.entries()) {
        pluginBuild.onResolve({ filter: stub.filter }, (args) =>
          stub.importer.test(args.importer)
            ? { path: `unused-${index}`, namespace: 'without-unused-parts', pluginData: stub }
            : undefined,
        );
      }
      pluginBuild.onLoad({ filter: /.*/, namespace: 'without-unused-parts' }, (args) => ({
        contents: args.pluginData.contents,
        loader: args.pluginData.loader,
        resolveDir: process.cwd(),
      }));
    },
  };
}

/**
 * ioredis adds its ~580 command methods to `Commander.prototype` one at a time. While a prototype
 * has fast properties V8 copies its map on every addition: ~30 ms of every start-up on a 2-vCPU
 * VM. Putting the prototype in dictionary mode first (adding and deleting a property) makes each
 * addition cheap — the same methods in under 1 ms. The build fails if ioredis changes that code.
 */
function ioredisCommandsInDictionaryMode() {
  const anchor = 'commands.forEach(function (commandName) {';
  return {
    name: 'ioredis-commands-in-dictionary-mode',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /ioredis[\\/]built[\\/]utils[\\/]Commander\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes(anchor))
          throw new Error(`${args.path} no longer has \`${anchor}\`: update or remove this fix`);
        const prelude =
          'Commander.prototype.__ocaDictionaryMode = 0;\ndelete Commander.prototype.__ocaDictionaryMode;\n';
        return { contents: source.replace(anchor, `${prelude}${anchor}`), loader: 'js' };
      });
    },
  };
}

/**
 * Makes the bundle pure ASCII where that changes nothing, so that the loader can read it as
 * Latin-1: V8 then gets a one-byte string without UTF-8 decoding (a third of the read time).
 * esbuild already escapes non-ASCII characters in strings, templates and names; what it leaves
 * are characters in regular-expression literals. Those are found by parsing the bundle (with
 * TypeScript's parser) and written as `\uXXXX`, which in a regular expression means the same
 * character. Anything else stays as it is; the loader then reads the bundle as UTF-8.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  if (!/[^\x00-\x7f]/.test(text)) return;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const edits = [];
  const visit = (node) => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const start = node.getStart(source);
      const literal = text.slice(start, node.end);
      if (/[^\x00-\x7f]/.test(literal)) edits.push({ start, end: node.end, text: escapeInRegExp(literal) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  let out = text;
  for (const edit of edits.reverse()) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  writeFileSync(file, out);
}

// `\uXXXX` for each non-ASCII code unit; one escaped by a backslash (`\é`, an identity escape)
// loses that backslash, which would otherwise escape the new one.
function escapeInRegExp(literal) {
  return literal.replace(/(\\*)([^\x00-\x7f])/g, (_, slashes, char) => {
    const kept = slashes.length % 2 === 1 ? slashes.slice(1) : slashes;
    return `${kept}\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
