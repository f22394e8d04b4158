// One executor served from two hosts (network namespaces with their own host ids, sharing one
// Redis over a bridge): `executors` lists both; a host cut off from Redis drops out within the
// presence TTL, and comes back once it reaches Redis again (issue 22).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createHarness, eventually, stopProcess, untilReady, type Harness } from '../helpers/harness.js';
import { createHostNetwork, netnsSkipReason, type HostNetwork, type NetnsHost } from '../helpers/netns.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

// CI runs as root with iproute2: there a missing permission is a failure, not a skip.
const skipReason = await netnsSkipReason();
if (skipReason && process.env.CI) throw new Error(`${skipReason} — CI must be able to run it`);

interface ExecutorJson {
  name: string;
  served: boolean;
  workers: { host: string; pid: number; concurrency: number }[];
}

describe.skipIf(skipReason)(
  `workers of one executor on two hosts${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let network: HostNetwork | undefined;
    let redis: RedisServer | undefined;
    let h: Harness | undefined;
    const workers: ChildProcess[] = [];

    beforeAll(async () => {
      network = await createHostNetwork(2);
      redis = await startRedisServer({ bind: [network.gateway] });
      process.env.REDIS_URL = redis.url;
      h = createHarness({ workerConfig: '  presence_ttl: 1500ms' });
    }, 60_000);
    afterAll(async () => {
      await Promise.all(workers.map((w) => stopProcess(w, 'SIGKILL')));
      await h?.cleanup().catch(() => {});
      await redis?.destroy().catch(() => {});
      await network?.destroy();
      delete process.env.REDIS_URL;
    }, 60_000);

    // A worker of `local` inside the host's namespace, with its host id, reaching Redis over the bridge.
    async function startHostWorker(host: NetnsHost, concurrency: number): Promise<void> {
      const home = path.join(h!.dir, host.name);
      mkdirSync(home, { recursive: true });
      const args = ['netns', 'exec', host.name, 'node', BIN, 'worker', '--executor', 'local'];
      const env = {
        ...h!.env,
        REDIS_URL: `redis://${network!.gateway}:${redis!.port}`,
        OPENCLAW_AGENT_HOST_ID: host.name,
        OPENCLAW_AGENT_HOME: home,
      };
      const child = spawn('ip', [...args, '--concurrency', String(concurrency)], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      workers.push(child);
      await untilReady(child, `worker on ${host.name}`, 'ready (');
    }
    const local = async () => {
      const r = await h!.cli(['executors', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as ExecutorJson[]).find((e) => e.name === 'local')!;
    };
    const hostsOf = (e: ExecutorJson) => e.workers.map((w) => `${w.host}:${w.concurrency}`).sort();

    it('lists one executor served from two hosts; a host cut off drops out within the TTL and returns after', async () => {
      const [a, b] = network!.hosts as [NetnsHost, NetnsHost];
      await Promise.all([startHostWorker(a, 2), startHostWorker(b, 3)]);
      const both = await local();
      expect(both.served).toBe(true);
      expect(hostsOf(both)).toEqual([`${a.name}:2`, `${b.name}:3`]);
      const row = (await h!.cli(['executors'])).stdout.split('\n').find((line) => line.startsWith('local '));
      expect(row).toContain(`2 on ${a.name}, ${b.name}  0/5 running`);

      await network!.cut(a);
      try {
        const left = await eventually(async () => {
          const e = await local();
          return e.workers.length === 1 ? e : undefined;
        }, `the worker on ${a.name} to drop out`);
        expect(hostsOf(left)).toEqual([`${b.name}:3`]);
      } finally {
        await network!.restore(a);
      }
      const back = await eventually(
        async () => {
          const e = await local();
          return e.workers.length === 2 ? e : undefined;
        },
        `the worker on ${a.name} to beat again`,
        90_000,
      );
      expect(hostsOf(back)).toEqual([`${a.name}:2`, `${b.name}:3`]);
    }, 150_000);
  },
);
