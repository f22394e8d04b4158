// CommonJS, like the entry that requires it (bin.cts).
import buffer = require('node:buffer');
import fs = require('node:fs');
import nodeModule = require('node:module');
import path = require('node:path');
import vm = require('node:vm');
import type { COMMANDS } from './commands/index.js' with { 'resolution-mode': 'import' };

const { isAscii } = buffer;
const { readFileSync, renameSync, statSync, writeFileSync } = fs;
const { createRequire, Module } = nodeModule;
const { Script } = vm;

/** What the one-file CLI bundle (`dist/cli/openclaw-agent.cjs`, built from cli/main.ts) exports. */
interface CliBundle {
  main(argv: string[], root: string): Promise<void>;
  /** Initialises everything a command may load, so that a code cache made afterwards covers it. */
  warm(root: string): Promise<void>;
  COMMANDS: typeof COMMANDS;
}

interface LoadedBundle {
  exports: CliBundle;
  /** False when V8 compiled the bundle from source (no cache, or one made by another Node/V8). */
  cacheUsed: boolean;
  /** Writes V8's code cache for everything compiled so far next to the bundle (atomically). */
  saveCache(): void;
}

const cacheFileOf = (bundle: string): string => `${bundle}.v8-cache`;

function bundleStamp(file: string): string {
  const { size, mtimeMs } = statSync(file);
  return `oca-v8-cache ${process.version} ${size} ${Math.trunc(mtimeMs)}`;
}

/**
 * Loads the CommonJS bundle the way Node's own loader would (same wrapper, same `require`), but
 * through vm.Script with V8's code cache: start-up then skips parsing and compiling ~2 MB of
 * JavaScript. A cache V8 rejects (another Node version, other V8 flags) only costs the compile.
 * The module is registered in the require cache first, so oclif's `require` of the command
 * file (the bundle itself) returns this instance.
 */
function loadBundle(file: string): LoadedBundle {
  // The build makes the bundle pure ASCII where it can: then Latin-1 reads it as UTF-8 would,
  // without decoding.
  const bytes = readFileSync(file);
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  // V8 checks a cache against the source's length only: a cache is used only for the bundle
  // file it was made for (its size and modification time are in the cache's first line).
  const stamp = bundleStamp(file);
  let cachedData: Buffer | undefined;
  try {
    const raw = readFileSync(cacheFileOf(file));
    const tagEnd = raw.indexOf(0x0a);
    cachedData =
      tagEnd > 0 && raw.subarray(0, tagEnd).toString('latin1') === stamp ? raw.subarray(tagEnd + 1) : undefined;
  } catch {
    cachedData = undefined;
  }
  // No dynamic import() is possible inside (Node 20 has no stable hook for it in vm.Script); the
  // build refuses a bundle that contains one of its own.
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  const require = createRequire(file);
  const module = new Module(file);
  module.filename = file;
  require.cache[file] = module;
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, require, module, file, path.dirname(file));
  module.loaded = true;
  return {
    exports: module.exports as CliBundle,
    cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
    saveCache() {
      const target = cacheFileOf(file);
      writeFileSync(`${target}.tmp`, Buffer.concat([Buffer.from(`${stamp}\n`, 'latin1'), script.createCachedData()]));
      renameSync(`${target}.tmp`, target);
    },
  };
}

export = { cacheFileOf, loadBundle };
