import { execa } from 'execa';
import { testPort } from './ports.js';
import { eventually } from './harness.js';
import { redisCommand, startRedisServer, type RedisServer } from './redis-server.js';

/** A private Redis Cluster: three masters, a replica each, that fails over within a few seconds. */
export interface RedisClusterGroup {
  /** Password of every node (`requirepass`/`masterauth`). */
  password: string;
  /** `redis+cluster://:password@127.0.0.1:p1,…` (every node). */
  url: string;
  servers: RedisServer[];
  /** The slot of `key` (of its `{hash tag}`), as the cluster computes it. */
  keySlot(key: string): Promise<number>;
  /** The master serving `slot` now, as a live node says. */
  masterOf(slot: number): Promise<RedisServer>;
  /** Waits until a node other than `old` serves `slot` and every live node says cluster_state:ok. */
  promotedAfter(old: RedisServer, slot: number): Promise<RedisServer>;
  destroy(): Promise<void>;
}

const NODE_TIMEOUT_MS = 2000;

/**
 * Starts six `redis-server --cluster-enabled yes` on free loopback ports (AOF on, each in its own
 * temp directory), joins them with `redis-cli --cluster create --cluster-replicas 1` and waits
 * until every node says cluster_state:ok and every replica is in sync. `cluster-node-timeout` is
 * 2000 ms, so a killed master's replica takes over a few seconds later.
 */
export async function startRedisCluster(): Promise<RedisClusterGroup> {
  const password = 'cluster-pass-7d3a';
  const servers: RedisServer[] = [];
  const stopAll = () => Promise.all(servers.map((server) => server.destroy())).then(() => undefined);
  try {
    for (let i = 0; i < 6; i++) {
      servers.push(
        await startRedisServer({
          password,
          args: async () => [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(NODE_TIMEOUT_MS),
            // The bus port beside a free port may be taken or past 65535: give it one of its own.
            '--cluster-port',
            String(await testPort()),
          ],
        }),
      );
    }
    await execa('redis-cli', [
      '-a',
      password,
      '--no-auth-warning',
      '--cluster',
      'create',
      ...servers.map((server) => `127.0.0.1:${server.port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    await eventually(async () => ((await everyLiveNodeOk(servers, password)) ? true : undefined), 'cluster_state:ok');
    await eventually(
      async () => ((await replicasInSync(servers, password)) ? true : undefined),
      'the replicas to sync with their masters',
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  const anyLive = () => servers.find((server) => server.running)!;
  const masterOf = async (slot: number) => {
    const nodes = (await command(anyLive(), password, ['CLUSTER', 'NODES'])) as string;
    for (const line of nodes.trim().split('\n')) {
      // <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges…>
      const [, address = '', flags = '', , , , , , ...ranges] = line.split(' ');
      if (!flags.split(',').includes('master') || flags.includes('fail')) continue;
      const serves = ranges.some((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return from !== undefined && to !== undefined && slot >= from && slot <= to;
      });
      if (!serves) continue;
      const port = Number(/:(\d+)@/.exec(address)?.[1]);
      const server = servers.find((s) => s.port === port);
      if (server) return server;
    }
    throw new Error(`no live master serves slot ${slot}`);
  };
  return {
    password,
    url: `redis+cluster://:${password}@${servers.map((server) => `127.0.0.1:${server.port}`).join(',')}`,
    servers,
    keySlot: async (key) => Number(await command(anyLive(), password, ['CLUSTER', 'KEYSLOT', key])),
    masterOf,
    promotedAfter: (old, slot) =>
      eventually(
        async () => {
          const master = await masterOf(slot).catch(() => undefined);
          if (!master || master === old) return undefined;
          return (await everyLiveNodeOk(servers, password)) ? master : undefined;
        },
        `a replica to take over slot ${slot}`,
        60_000,
      ),
    destroy: stopAll,
  };
}

async function everyLiveNodeOk(servers: RedisServer[], password: string): Promise<boolean> {
  for (const server of servers.filter((s) => s.running)) {
    const info = await command(server, password, ['CLUSTER', 'INFO']).catch(() => '');
    if (!/cluster_state:ok/.test(String(info))) return false;
  }
  return true;
}

async function replicasInSync(servers: RedisServer[], password: string): Promise<boolean> {
  let replicas = 0;
  for (const server of servers) {
    const info = String(await command(server, password, ['INFO', 'replication']).catch(() => ''));
    if (!/role:slave/.test(info)) continue;
    if (!/master_link_status:up/.test(info)) return false;
    replicas++;
  }
  return replicas === 3;
}

// One command on one node, on a connection of its own.
function command(server: RedisServer, password: string, args: [string, ...string[]]): Promise<unknown> {
  return redisCommand(server.port, password, args);
}
