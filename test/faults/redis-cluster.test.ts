import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard } from '../../bull-board/server.js';
import { parseClusterUrl, redactRedisUrl } from '../../src/index.js';
import { BIN, createHarness, eventually, type Harness } from '../helpers/harness.js';
import { callTool, connectMcpStdio, taskOf } from '../helpers/mcp-client.js';
import { startRedisCluster, type RedisClusterGroup } from '../helpers/redis-cluster.js';
import { startRedisServer } from '../helpers/redis-server.js';

describe('redis+cluster:// URLs', () => {
  it('name the nodes to start from and the password they share, which messages hide', () => {
    const url = 'redis+cluster://app:s3cret@10.0.0.1:7000,[::1],node-c:7002';
    expect(parseClusterUrl(url)).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 6379 },
        { host: 'node-c', port: 7002 },
      ],
      username: 'app',
      password: 's3cret',
    });
    expect(redactRedisUrl(url)).toBe('redis+cluster://app:***@10.0.0.1:7000,[::1],node-c:7002');
    expect(redactRedisUrl('redis+cluster://:s3cret@h1:7000,h2:7001/')).toBe('redis+cluster://:***@h1:7000,h2:7001');
    expect(() => parseClusterUrl('redis+cluster://:pw@10.0.0.1:7000/2')).toThrow(
      /^invalid Redis Cluster URL redis\+cluster:\/\/:\*\*\*@10\.0\.0\.1:7000\/2: expected redis\+cluster:\/\/\[user:password@\]host:port\[,host:port…\]$/,
    );
  });
});

describe('Redis Cluster: tasks run on three masters and survive the failover of theirs', () => {
  let cluster: RedisClusterGroup;
  let h: Harness;
  let tagged: string;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    h = createHarness();
    tagged = `{${h.prefix}}`;
    writeFileSync(
      h.configPath,
      readFileSync(h.configPath, 'utf8').replace(`prefix: ${h.prefix}`, `prefix: "${tagged}"`),
    );
    h.env.REDIS_URL = cluster.url;
  }, 60_000);

  afterAll(async () => {
    // The cluster is this file's own: it goes away with its keys.
    await h?.cleanup();
    await cluster?.destroy();
  });

  const startGated = async (token: string) => {
    const script = `echo "$0" >> started; until [ -e gate ]; do sleep 0.1; done; echo "$0" >> ended`;
    const r = await h.cli(['run', '-w', h.dir, '--', 'sh', '-c', script, token]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const linesOf = (file: string) =>
    existsSync(path.join(h.dir, file)) ? readFileSync(path.join(h.dir, file), 'utf8').trimEnd().split('\n') : [];

  it('refuses a prefix without a {hash tag}, an unreachable cluster and a server that is no cluster in one line', async () => {
    writeFileSync(
      `${h.configPath}.untagged`,
      readFileSync(h.configPath, 'utf8').replace(`prefix: "${tagged}"`, `prefix: ${h.prefix}`),
    );
    const untagged = await h.cli(['list'], { env: { OPENCLAW_AGENT_CONFIG: `${h.configPath}.untagged` } });
    expect(untagged).toMatchObject({
      exitCode: 2,
      stdout: '',
      stderr: `openclaw-agent: redis.prefix "${h.prefix}" has no {hash tag}, and a Redis Cluster needs one so that every key lands in one slot — set redis.prefix to "{${h.prefix}}" in the config\n`,
    });

    const closedPort = cluster.servers[0]!.port + 7919;
    const unreachable = await h.cli(['list'], {
      env: { REDIS_URL: `redis+cluster://:${cluster.password}@127.0.0.1:${closedPort}` },
    });
    expect(unreachable).toMatchObject({ exitCode: 4, stdout: '' });
    expect(unreachable.stderr).toMatch(
      /^openclaw-agent: cannot reach the Redis Cluster at redis\+cluster:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(no node answered with the cluster's slots: .+\) — check the node addresses in REDIS_URL and that the cluster is up \(redis-cli cluster info\)\n$/,
    );

    const wrongPassword = await h.cli(['list'], {
      env: { REDIS_URL: cluster.url.replace(`:${cluster.password}@`, ':not-it@') },
    });
    expect(wrongPassword).toMatchObject({ exitCode: 4, stdout: '' });
    expect(wrongPassword.stderr).toMatch(
      /^openclaw-agent: Redis refused the credentials of the default user at redis\+cluster:\/\/:\*\*\*@127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){5} \(WRONGPASS\) — check the user name and password in REDIS_URL or redis\.url\n$/,
    );

    const single = await startRedisServer();
    try {
      const notCluster = await h.cli(['list'], { env: { REDIS_URL: `redis+cluster://127.0.0.1:${single.port}` } });
      expect(notCluster).toMatchObject({
        exitCode: 4,
        stdout: '',
        stderr: `openclaw-agent: Redis at redis+cluster://127.0.0.1:${single.port} is not a Redis Cluster (cluster support disabled) — use redis://host:port for a single server\n`,
      });
    } finally {
      await single.destroy();
    }
    for (const r of [untagged, unreachable, wrongPassword]) expect(r.stderr).not.toContain(cluster.password);
  }, 60_000);

  it('runs, follows, lists and shows tasks through the CLI, the MCP server and the dashboard, all keys in one slot', async () => {
    await h.startWorker();
    // The worker's presence (several keys read and written together) works on the cluster too.
    const executors = await h.cli(['executors', '--json']);
    expect(JSON.parse(executors.stdout)).toEqual([
      expect.objectContaining({ name: 'local', served: true, workers: [expect.objectContaining({ concurrency: 8 })] }),
    ]);
    const followed = await h.cli(['run', '--follow', '--', 'echo', 'on the cluster']);
    expect(followed.stderr).not.toContain('no worker');
    expect(followed).toMatchObject({ exitCode: 0, stdout: 'on the cluster\n' });

    const id = (await h.cli(['run', '--', 'sh', '-c', 'echo one; echo two'])).stdout.trim();
    expect(await h.cli(['wait', id])).toMatchObject({ exitCode: 0 });
    expect(await h.cli(['logs', id])).toMatchObject({ exitCode: 0, stdout: 'one\ntwo\n' });
    const status = await h.cli(['status', id, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ task_id: id, status: 'completed', exit_code: 0 });

    const mcp = await connectMcpStdio(h, 'cluster test');
    try {
      const run = await callTool(mcp, 'run', { command: 'echo through mcp' });
      const viaMcp = taskOf(run).task_id;
      const waited = await callTool(mcp, 'wait', { ids: [viaMcp], timeout: '30s' });
      expect(waited.structuredContent).toMatchObject({ done: true, pending: [] });
      expect(taskOf(await callTool(mcp, 'status', { id: viaMcp }))).toMatchObject({ status: 'completed' });
    } finally {
      await mcp.close();
    }

    const token = 'cluster-dashboard-token-1';
    const dashboard = await startDashboard({ config: h.config(), port: 0, token, redisUrl: cluster.url });
    try {
      const response = await fetch(`${dashboard.url}/api/tasks`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      const { tasks } = (await response.json()) as { tasks: { task_id: string; status: string }[] };
      expect(tasks).toHaveLength(3);
      expect(tasks.map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);
      expect(tasks.map((t) => t.task_id)).toContain(id);
    } finally {
      await dashboard.close();
    }

    const listed = await h.cli(['list', '--jsonl']);
    expect(listed.stdout.trimEnd().split('\n')).toHaveLength(3);

    // Every key the CLI, the worker, the MCP server and the dashboard made is under the tag: one slot.
    const client = new Cluster(parseClusterUrl(cluster.url).nodes, { redisOptions: { password: cluster.password } });
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const keys: string[] = [];
      for (const node of client.nodes('master')) {
        let cursor = '0';
        do {
          const [next, batch] = await node.scan(cursor, 'COUNT', 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== '0');
      }
      expect(keys.length).toBeGreaterThan(5);
      for (const key of keys) expect(key.startsWith(`${tagged}:`), key).toBe(true);
      const slot = await cluster.keySlot(tagged);
      expect(new Set(await Promise.all(keys.map((key) => cluster.keySlot(key))))).toEqual(new Set([slot]));
    } finally {
      client.disconnect();
    }
  }, 60_000);

  it("after kill -9 of the prefix's master mid-task, every task ends completed, each run once", async () => {
    // A worker, and `up` running the workers of the private-stack tooling against the cluster.
    const worker = await h.startWorker();
    const stack = spawn('node', [BIN, 'up', '--redis-url', cluster.url, '--no-dashboard'], {
      env: h.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const stackSaid = await new Promise<string>((resolve, reject) => {
      let seen = '';
      stack.stderr.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (/ready: .*\n/.test(seen)) resolve(seen);
      });
      stack.once('exit', (code) => reject(new Error(`up exited early (${code}): ${seen}`)));
    });
    expect(stackSaid).toMatch(/ready: using the Redis at redis\+cluster:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
    expect(stackSaid).not.toContain(cluster.password);

    const before = await Promise.all(['a1', 'a2', 'a3', 'a4'].map(startGated));
    await eventually(async () => (linesOf('started').length === 4 ? true : undefined), 'four tasks to start');

    const slot = await cluster.keySlot(tagged);
    const master = await cluster.masterOf(slot);
    // Replication is asynchronous: let the replica have everything so far, then crash the master.
    const direct = new Redis(master.url);
    try {
      expect(await direct.call('WAIT', '1', '10000')).toBe(1);
    } finally {
      direct.disconnect();
    }
    const killedAt = Date.now();
    await master.stop('SIGKILL');
    const promoted = await cluster.promotedAfter(master, slot);
    const failoverMs = Date.now() - killedAt;
    expect(promoted).not.toBe(master);

    // New tasks go to the new master; a fresh CLI finds the earlier ones there (`wait` below).
    const after = await Promise.all(['b1', 'b2'].map(startGated));
    await eventually(async () => (linesOf('started').length === 6 ? true : undefined), 'six tasks to start');

    writeFileSync(path.join(h.dir, 'gate'), '');
    expect(await h.cli(['wait', ...before, ...after])).toMatchObject({ exitCode: 0 });

    const tokens = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2'];
    expect(linesOf('started').sort()).toEqual(tokens);
    expect(linesOf('ended').sort()).toEqual(tokens);
    const listed = await h.cli(['list', '--jsonl']);
    const records = listed.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { task_id: string; status: string });
    const ids = [...before, ...after];
    expect(records.filter((r) => ids.includes(r.task_id)).map((r) => r.status)).toEqual(Array(6).fill('completed'));
    expect(records.filter((r) => r.status !== 'completed')).toEqual([]);
    expect(worker.exitCode).toBeNull();
    expect(stack.exitCode).toBeNull();
    const stopped = new Promise((resolve) => stack.once('exit', resolve));
    expect(await h.cli(['down'])).toMatchObject({ exitCode: 0, stdout: 'Stopped the background workers.\n' });
    await stopped;
    console.log(`failover of slot ${slot}: ${failoverMs} ms from kill -9 to a promoted replica`);
  }, 90_000);
});
