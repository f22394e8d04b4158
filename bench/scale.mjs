// The scale figures of `npm run bench`: `list` and `GET /api/tasks` with 100,000 tasks queued, and
// Redis bytes per ended task. Each on a private redis-server (so that used_memory counts only
// this), started on a free port and removed afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startDashboard } from '../dist/bull-board/server.js';
import { freePort, loadConfig, MEMORY_SETTINGS, TaskClient, waitForTasks } from '../dist/src/index.js';

const now = () => performance.now();
const pct = (values, p) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const TUNED = MEMORY_SETTINGS.flatMap(([name, value]) => [`--${name}`, value]);

/**
 * Runs the scale measures: `queued` tasks for the listing; `warmup` then `ended` tasks for the
 * bytes per ended task, once on Redis's defaults and once with the private stack's Redis settings.
 */
export async function measureScale({ queued, ended, warmup, bin, env }) {
  const result = { queued, ended };
  result.bytes_per_ended_task_defaults = await withStack(bin, env, [], (stack) =>
    bytesPerEndedTask(stack, warmup, ended),
  );
  result.bytes_per_ended_task = await withStack(bin, env, TUNED, (stack) => bytesPerEndedTask(stack, warmup, ended));
  Object.assign(result, await withStack(bin, env, TUNED, (stack) => listingLatency(stack, queued)));
  return result;
}

// The growth of used_memory over `ended` more tasks, their logs deleted, after a warm-up that fills
// what is capped per queue (BullMQ's events stream and its history of ended jobs): what each
// further task costs.
async function bytesPerEndedTask(stack, warmup, ended) {
  const worker = await startWorker(stack.bin, stack.env);
  try {
    const payload = { type: 'shell_command', command: 'echo', args: ['cargo', 'test', '--workspace'], env: {} };
    const runEnded = async (count) => {
      const ids = await drain(stack.client, count, stack.dir, payload);
      for (let i = 0; i < ids.length; i += 500)
        await stack.redis.del(...ids.slice(i, i + 500).map((id) => stack.client.keys.log(id)));
    };
    await runEnded(warmup);
    const before = await usedMemory(stack.redis);
    await runEnded(ended);
    return ((await usedMemory(stack.redis)) - before) / ended;
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
}

// `queued` tasks waiting on an executor without a worker; then the first page of `list` (the
// library call, without process start-up), of `GET /api/tasks`, and the whole `openclaw-agent list`.
async function listingLatency(stack, queued) {
  const { client, dir } = stack;
  const out = {};
  const t0 = now();
  for (let i = 0; i < queued; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, queued - i) }, (_, j) =>
        client.enqueue({
          executor: 'parked',
          payload: { type: 'shell_command', command: 'echo', args: [`task ${i + j}`], env: {} },
          callerCwd: dir,
        }),
      ),
    );
  }
  out.enqueue_per_s = queued / ((now() - t0) / 1000);

  const listing = [];
  for (let i = 0; i < 30; i++) {
    const t = now();
    const page = await client.list({ limit: 50 });
    listing.push(now() - t);
    if (page.length !== 50) throw new Error(`list returned ${page.length} tasks`);
  }
  out.list_p50 = pct(listing, 50);
  out.list_p99 = pct(listing, 99);

  const dashboard = await startDashboard({ config: stack.config, redisUrl: stack.url, port: 0 });
  try {
    const api = [];
    for (let i = 0; i < 30; i++) {
      const t = now();
      const response = await fetch(`${dashboard.url}/api/tasks?limit=50`);
      const body = await response.json();
      api.push(now() - t);
      if (response.status !== 200 || body.tasks.length !== 50)
        throw new Error(`GET /api/tasks answered ${response.status}`);
    }
    out.api_p50 = pct(api, 50);
    out.api_p99 = pct(api, 99);
  } finally {
    await dashboard.close();
  }

  const cli = [];
  for (let i = 0; i < 5; i++) {
    const t = now();
    await new Promise((resolve, reject) =>
      spawn('node', [stack.bin, 'list'], { env: stack.env, stdio: 'ignore' }).once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`list exited ${code}`)),
      ),
    );
    cli.push(now() - t);
  }
  out.cli_list_ms = pct(cli, 50);
  return out;
}

// A private redis-server with `args`, a config for it (`parked` has no worker; `local` runs tasks),
// and a client; everything removed after `fn`.
async function withStack(bin, baseEnv, args, fn) {
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-bench-scale-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args],
    { stdio: 'ignore' },
  );
  const configPath = path.join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    `executors:\n  - name: parked\n    type: local\n  - name: local\n    type: local\n    concurrency: 8\nredis:\n  url: ${url}\n  prefix: scale\n`,
  );
  const env = {
    ...baseEnv,
    OPENCLAW_AGENT_CONFIG: configPath,
    OPENCLAW_AGENT_HOME: path.join(dir, 'home'),
    HOME: path.join(dir, 'home'),
    REDIS_URL: url,
  };
  const redis = new Redis(url, { lazyConnect: true });
  redis.on('error', () => {});
  let client;
  try {
    await waitForPing(redis);
    const config = loadConfig(configPath);
    client = await TaskClient.connect(config, url);
    return await fn({ bin, env, dir, url, redis, config, client });
  } finally {
    await client?.close();
    redis.disconnect();
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

// Runs `count` tasks on `local`, 200 at a time, and returns their ids.
async function drain(client, count, cwd, payload) {
  const ids = [];
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, count - i) }, () =>
        client.enqueue({ executor: 'local', payload, callerCwd: cwd }),
      ),
    );
    await waitForTasks(
      client,
      batch.map((t) => t.id),
    );
    ids.push(...batch.map((t) => t.id));
  }
  return ids;
}

async function usedMemory(redis) {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
}

async function waitForPing(redis) {
  for (let i = 0; i < 100; i++) {
    await redis.connect().catch(() => {});
    if ((await redis.ping().catch(() => '')) === 'PONG') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the private redis-server did not start');
}

async function startWorker(bin, env) {
  const child = spawn('node', [bin, 'worker', '--executor', 'local'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((resolve, reject) => {
    let seen = '';
    child.stderr.on('data', (chunk) => {
      seen += chunk;
      if (seen.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${seen}`)));
  });
  return child;
}
