import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness } from '../helpers/harness.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

describe('worker liveness: a worker whose work stops flowing notices and recovers', () => {
  const h: Harness = createHarness({ workerConfig: '  liveness_timeout: 3s' });
  let proxy: TcpProxy;
  let worker: ChildProcess;
  let workerLog = '';

  beforeAll(async () => {
    const redisPort = Number(new URL(h.env.REDIS_URL!).port || 6379);
    proxy = await startTcpProxy(redisPort);
    // The worker reaches Redis through the proxy; the CLI goes straight to Redis.
    worker = await h.startWorker('local', { REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    worker.stderr!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
  });
  afterAll(async () => {
    await h.cleanup();
    await proxy.close();
  });

  it(
    'takes a task queued after its connections went silent (their TCP state dropped on the way)',
    { timeout: 120_000 },
    async () => {
      const before = await h.cli(['run', '--follow', '--', 'echo', 'before']);
      expect(before).toMatchObject({ exitCode: 0, stdout: 'before\n' });

      // Every connection the worker holds now goes silent: its blocking read for new tasks waits
      // forever, and nothing tells it so.
      proxy.freeze();
      const queued = await h.cli(['run', '--', 'echo', 'after']);
      expect(queued.exitCode).toBe(0);
      const id = queued.stdout.trim();

      const waited = await h.cli(['wait', id, '--timeout', '90s']);
      expect(waited.exitCode).toBe(0);
      expect((await h.logText(id)).stdout).toBe('after\n');
      // The liveness check is what noticed: one line that says why, and the worker lives on.
      expect(workerLog).toMatch(
        /work is not flowing: (1 task\(s\) waited 3s while 8 slot\(s\) were free, and none was taken|Redis has not answered for 3s on a connection it holds open); reconnecting/,
      );
      expect(worker.exitCode).toBeNull();

      // And it goes on taking tasks.
      const next = await h.cli(['run', '--follow', '--', 'echo', 'next']);
      expect(next).toMatchObject({ exitCode: 0, stdout: 'next\n' });
    },
  );

  it('takes a task when only its blocking read went silent, while its other connections answer', async () => {
    const logged = workerLog;
    // The task queue's blocking read, as Redis lists it: BullMQ names that connection after the
    // queue, `flags=b` says it is blocked now, and its address is the proxy's side (the connections
    // the first test froze are gone or skipped). It is frozen while its read is under a second old:
    // BullMQ (6.7) has a watchdog of its own that gives up on a read its timeout (5 s) and a second
    // after sending it, and reconnects about 2 s later (the frozen socket never closes); a read
    // frozen older than that let the watchdog win the race now and then on a loaded run. The
    // liveness check (3 s, looking every second) notices 2–4 s after the task is queued, so the
    // task is queued at once. This test is about the liveness check, which must notice first.
    const name = `${h.prefix}:${Buffer.from('local').toString('base64')}`;
    const redis = h.redis();
    // Connected before the freeze: queueing in process, not by a CLI run that can take seconds.
    const client = await h.client();
    await eventually(async () => {
      const clients = (await redis.client('LIST')) as string;
      for (const line of clients.split('\n')) {
        const port = proxyPortOf(line);
        if (port === undefined || !line.includes(` name=${name} `)) continue;
        if (/ flags=\w*b/.test(line) && line.includes(' idle=0 ') && line.includes(' cmd=bzpopmin ')) {
          proxy.freeze(port);
          return port;
        }
      }
      return undefined;
    }, "the worker's blocking read for tasks, just sent");

    const { id } = await client.enqueue({
      executor: 'local',
      payload: { type: 'shell_command', command: 'echo', args: ['taken'], env: {} },
    });
    expect(await h.cli(['wait', id, '--timeout', '90s'])).toMatchObject({ exitCode: 0 });
    expect((await h.logText(id)).stdout).toBe('taken\n');
    expect(workerLog.slice(logged.length)).toMatch(
      /work is not flowing: 1 task\(s\) waited 3s while 8 slot\(s\) were free, and none was taken; reconnecting/,
    );
  });

  // The client's port in a CLIENT LIST line (`addr=127.0.0.1:PORT`) when it is one of the proxy's.
  function proxyPortOf(line: string): number | undefined {
    const port = Number(/ addr=127\.0\.0\.1:(\d+) /.exec(line)?.[1]);
    return proxy.upstreamPorts().includes(port) ? port : undefined;
  }

  it('says nothing while no task waits, or while every slot is busy', async () => {
    const logged = workerLog;
    // Eight long tasks fill the slots and a ninth waits: that is not a stuck worker.
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push((await h.cli(['run', '--', 'sleep', '5'])).stdout.trim());
    await eventually(
      async () => ((await h.cli(['status', ids[8]!, '--json'])).stdout.includes('"running"') ? true : undefined),
      'the ninth task to start',
      60_000,
    );
    const waited = await h.cli(['wait', ...ids, '--timeout', '60s']);
    expect(waited.exitCode).toBe(0);
    expect(workerLog.slice(logged.length)).not.toContain('work is not flowing');
  });
});
