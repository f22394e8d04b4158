import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { testPort } from './ports.js';
import { eventually } from './harness.js';
import { redisCommand, startRedisServer, type RedisServer } from './redis-server.js';

/** A private master, one replica and three Sentinels that fail over within a few seconds. */
export interface SentinelGroup {
  master: string;
  /** Password of the master and replica (`requirepass`/`masterauth`). */
  password: string;
  /** Password of the Sentinels themselves. */
  sentinelPassword: string;
  sentinelPorts: number[];
  /** `redis+sentinel://:password@127.0.0.1:p1,…/master` */
  url: string;
  /** The server that is master right now, as the Sentinels say. */
  currentMaster(): Promise<RedisServer>;
  /** Resolves with the new master's port on the next `+switch-master`; subscribe before the failure. */
  nextSwitch(): Promise<() => Promise<number>>;
  servers: RedisServer[];
  destroy(): Promise<void>;
}

/**
 * Starts the group on free loopback ports: `down-after-milliseconds` 1000 and a short failover
 * timeout, quorum 2 of 3 Sentinels, passwords everywhere.
 */
export async function startSentinelGroup(master = 'oca-master'): Promise<SentinelGroup> {
  const password = 'data-pass-5b1e';
  const sentinelPassword = 'sentinel-pass-c04a';
  const primary = await startRedisServer({ password });
  const replica = await startRedisServer({ password, args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const servers = [primary, replica];
  const dir = mkdtempSync(path.join(tmpdir(), 'oca-sentinel-'));
  const sentinels: ChildProcess[] = [];
  const sentinelPorts: number[] = [];
  const stopAll = async () => {
    await Promise.all(sentinels.map((child) => stopChild(child)));
    await Promise.all(servers.map((server) => server.destroy()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => (await replicaLinkUp(replica.port, password)) || undefined, 'the replica to sync');
    for (let i = 0; i < 3; i++) {
      const port = await testPort();
      const conf = path.join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'daemonize no',
          `dir ${dir}`,
          `logfile ${path.join(dir, `sentinel-${i}.log`)}`,
          `requirepass ${sentinelPassword}`,
          `sentinel sentinel-pass ${sentinelPassword}`,
          `sentinel monitor ${master} 127.0.0.1 ${primary.port} 2`,
          `sentinel auth-pass ${master} ${password}`,
          `sentinel down-after-milliseconds ${master} 1000`,
          `sentinel failover-timeout ${master} 4000`,
          `sentinel parallel-syncs ${master} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(spawn('redis-sentinel', [conf], { stdio: 'ignore' }));
      sentinelPorts.push(port);
    }
    const sentinelClient = (port: number) =>
      new Redis({
        host: '127.0.0.1',
        port,
        password: sentinelPassword,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
    // Ready when every Sentinel knows the replica and the other two Sentinels (so a vote can pass).
    await eventually(async () => {
      for (const port of sentinelPorts) {
        const client = sentinelClient(port);
        client.on('error', () => {});
        try {
          await client.connect();
          const info = (await client.call('SENTINEL', 'MASTER', master)) as string[];
          const field = (name: string) => Number(info[info.indexOf(name) + 1]);
          if (field('num-slaves') < 1 || field('num-other-sentinels') < 2) return undefined;
        } catch {
          return undefined;
        } finally {
          client.disconnect();
        }
      }
      return true;
    }, 'the Sentinels to discover the replica and each other');

    const url = `redis+sentinel://:${password}@${sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',')}/${master}`;
    return {
      master,
      password,
      sentinelPassword,
      sentinelPorts,
      url,
      servers,
      async currentMaster() {
        const client = sentinelClient(sentinelPorts[0]!);
        client.on('error', () => {});
        try {
          await client.connect();
          const [, port] = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', master)) as [string, string];
          const server = servers.find((s) => s.port === Number(port));
          if (!server) throw new Error(`the Sentinels name an unknown master on port ${port}`);
          return server;
        } finally {
          client.disconnect();
        }
      },
      async nextSwitch() {
        const client = sentinelClient(sentinelPorts[0]!);
        client.on('error', () => {});
        await client.connect();
        const switched = new Promise<number>((resolve) => {
          client.on('message', (_channel: string, message: string) => {
            // "<master-name> <old-ip> <old-port> <new-ip> <new-port>"
            const [name, , , , port] = message.split(' ');
            if (name === master) resolve(Number(port));
          });
        });
        await client.subscribe('+switch-master');
        return async () => {
          try {
            return await eventually(
              () =>
                Promise.race([
                  switched,
                  new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 200)),
                ]),
              'the Sentinels to switch the master',
              60_000,
            );
          } finally {
            client.disconnect();
          }
        };
      },
      destroy: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function replicaLinkUp(port: number, password: string): Promise<boolean> {
  const info = await redisCommand(port, password, ['INFO', 'replication']).catch(() => '');
  return /master_link_status:up/.test(String(info));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}
