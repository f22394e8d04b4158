#!/usr/bin/env node
// The suite's core on Node 24 as well as on the machine's Node. `node .ci/node24.mjs install`
// puts the npm package `node@24` (its tarball carries the binary) into the test tools cache,
// outside the lockfile; `node .ci/node24.mjs test` runs the core files under it. The CLI, the
// workers and vitest's own processes are all started as `node` from PATH or as the running Node,
// so Node 24 first on PATH is the whole switch.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

// The same version and place as the OpenClaw gateway's tests use (test/helpers/openclaw-gateway.ts).
const NODE24_VERSION = '24.21.0';

// The core: the CLI end to end with real workers, the local executor, the API and dashboard
// server, MCP over stdio and HTTP, config, log streams and the task processor.
// About three minutes on the 2-core CI machine; the container, SSH, browser and fault suites run
// on the machine's Node only.
const CORE_FILES = [
  'test/config',
  'test/logs',
  'test/tasks',
  'test/worker',
  'test/executors/local-executor.test.ts',
  'test/cli/lifecycle.test.ts',
  'test/cli/cli-tasks.test.ts',
  'test/cli/bad-input.test.ts',
  'test/dashboard/api.test.ts',
  'test/mcp/mcp-server.test.ts',
];

const toolsDir =
  process.env.OCA_TEST_TOOLS ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'openclaw-agent-test-tools');
const prefix = path.join(toolsDir, 'node24');
const binDir = path.join(prefix, 'node_modules', 'node', 'bin');

function installedVersion() {
  try {
    return JSON.parse(readFileSync(path.join(prefix, 'node_modules', 'node', 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function install() {
  if (installedVersion() === NODE24_VERSION && existsSync(path.join(binDir, 'node'))) return;
  console.log(`ci: installing node@${NODE24_VERSION} into ${prefix}`);
  execFileSync(
    'npm',
    ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', `node@${NODE24_VERSION}`],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

function test() {
  install();
  const env = { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH}` };
  const version = execFileSync('node', ['--version'], { env, encoding: 'utf8' }).trim();
  if (!version.startsWith('v24.')) throw new Error(`expected Node 24 first on PATH, got ${version}`);
  console.log(`ci: the core suite on Node ${version}: ${CORE_FILES.join(' ')}`);
  // The CLI's code cache was made by the machine's Node, and Node 24 would compile the bundle
  // from source at every command: make one for Node 24 while it runs, then put the first back.
  const cache = 'dist/cli/openclaw-agent.cjs.v8-cache';
  copyFileSync(cache, `${cache}.saved`);
  let result;
  try {
    execFileSync('node', ['.ci/code-cache.mjs'], { env, stdio: 'inherit' });
    result = runCore(env);
  } finally {
    renameSync(`${cache}.saved`, cache);
  }
  process.exit(result.status ?? 1);
}

function runCore(env) {
  return spawnSync(
    'node',
    ['node_modules/vitest/vitest.mjs', 'run', '--outputFile.json=test-output/vitest-node24.json', ...CORE_FILES],
    { env, stdio: 'inherit' },
  );
}

const verb = process.argv[2];
if (verb === 'install') install();
else if (verb === 'test') test();
else {
  console.error('usage: node .ci/node24.mjs install|test');
  process.exit(2);
}
