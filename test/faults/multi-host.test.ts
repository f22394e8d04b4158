import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { readLog, TaskKeys } from '../../src/index.js';
import { BIN, createHarness, eventually, FIXTURES, stopProcess, type Harness } from '../helpers/harness.js';
import { createHostNetwork, netnsSkipReason, type HostNetwork, type NetnsHost } from '../helpers/netns.js';
import { podmanSkipReason, startPodman, TEST_IMAGE, type PodmanService } from '../helpers/podman.js';
import { countProcessGroup } from '../helpers/processes.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { sshExecutorYaml, startSshd, type SshdServer } from '../helpers/sshd.js';

/** Executors by name: local (`local`), SSH (`crib`, the sshd in the root namespace) and container (`box`, podman). */
const EXECUTORS = ['local', 'crib', 'box'] as const;
type ExecutorName = (typeof EXECUTORS)[number];
/** A task prints a line every 200 ms until the gate opens; past this many lines it ends on its own (a hung test). */
const MAX_LINES = 600;

// CI runs as root with iproute2 and podman: there a missing permission is a failure, not a skip.
const skipReason = (await netnsSkipReason()) ?? podmanSkipReason();
if (skipReason && process.env.CI) throw new Error(`${skipReason} — CI must be able to run it`);

interface Task {
  id: string;
  executor: ExecutorName;
  /** Where the task appends `run` each time it starts: exactly once, or it ran twice. */
  marker: string;
}

describe.skipIf(skipReason)(`several hosts share one Redis${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let network: HostNetwork | undefined;
  let redis: RedisServer | undefined;
  let sshd: SshdServer | undefined;
  let engine: PodmanService | undefined;
  let h: Harness | undefined;
  const workers: { host: string; executor: string; child: ChildProcess; log: string[] }[] = [];
  let gate = '';

  beforeAll(async () => {
    network = await createHostNetwork(3);
    const gateway = network.gateway;
    redis = await startRedisServer({ bind: [gateway] });
    process.env.REDIS_URL = redis.url;
    sshd = await startSshd({ config: [`ListenAddress ${gateway}`] });
    engine = await startPodman();
    const server = sshd;
    const socket = engine.url;
    // One config for every host: the SSH server and the podman socket are where every host reaches them.
    h = createHarness({
      // A cut host's heartbeat lapses within seconds, well before the test's patience does.
      workerConfig: '  host_heartbeat: 1500ms',
      extraExecutors: (dir) =>
        sshExecutorYaml(server, 'crib', {
          host: gateway,
          host_key: server.hostKeyFingerprint,
          spool_dir: path.join(dir, 'remote-tasks'),
        }) +
        `  - name: box
    type: container
    image: ${TEST_IMAGE}
    runtime: podman
    socket: ${socket}
    pull: never
    volumes: ['${dir}:${dir}', '${FIXTURES}:${FIXTURES}:ro']
`,
    });
    gate = path.join(h.dir, 'gate');
  }, 120_000);

  afterAll(async () => {
    // Everything goes, whatever failed: tasks first (the gate ends them), then what they ran on.
    if (gate) writeFileSync(gate, '');
    await Promise.all(workers.map((w) => stopProcess(w.child, 'SIGKILL')));
    for (const host of network?.hosts ?? []) if (h) killTaskGroups(path.join(h.dir, host.name, 'tasks'));
    if (engine) {
      const docker = new Docker({ socketPath: engine.socket });
      const left = await docker
        .listContainers({ all: true, filters: { label: ['openclaw.executor=box'] } })
        .catch(() => []);
      await Promise.all(
        left.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
    }
    await h?.cleanup().catch(() => {});
    await engine?.stop().catch(() => {});
    await sshd?.stop().catch(() => {});
    await redis?.destroy().catch(() => {});
    await network?.destroy();
    delete process.env.REDIS_URL;
  }, 60_000);

  // A worker inside the host's namespace, with its own data directory and host id, reaching Redis over the bridge.
  async function startHostWorker(host: NetnsHost, executor: ExecutorName, concurrency?: number): Promise<void> {
    const home = path.join(h!.dir, host.name);
    mkdirSync(home, { recursive: true });
    const args = ['netns', 'exec', host.name, 'node', BIN, 'worker', '--executor', executor];
    if (concurrency !== undefined) args.push('--concurrency', String(concurrency));
    const env = {
      ...h!.env,
      REDIS_URL: `redis://${network!.gateway}:${redis!.port}`,
      OPENCLAW_AGENT_HOST_ID: host.name,
      OPENCLAW_AGENT_HOME: home,
    };
    const child = spawn('ip', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const entry = { host: host.name, executor, child, log: [] as string[] };
    workers.push(entry);
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        entry.log.push(chunk.toString());
        if (entry.log.join('').includes(`ready (`)) resolve();
      });
      child.once('exit', (code) =>
        reject(new Error(`worker ${executor} on ${host.name} exited early (${code}): ${entry.log.join('')}`)),
      );
    });
    expect(entry.log.join('')).toContain(`host ${host.name})`);
  }

  async function startTask(executor: ExecutorName, label: string): Promise<Task> {
    const marker = path.join(h!.dir, `ran-${label}`);
    const command = `echo run >>${marker}; i=0; while [ ! -e ${gate} ] && [ $i -lt ${MAX_LINES} ]; do i=$((i + 1)); echo line$i; sleep 0.2; done; echo "lines $i"`;
    const r = await h!.cli(['run', '-e', executor, '-c', command]);
    expect(r.exitCode, r.stderr).toBe(0);
    return { id: r.stdout.trim(), executor, marker };
  }

  const status = async (id: string) =>
    JSON.parse((await h!.cli(['status', id, '--json'])).stdout) as Record<string, unknown>;
  const linesShipped = async (id: string) =>
    (await h!.logText(id)).stdout.split('\n').filter((line) => line.startsWith('line')).length;
  const untilShipped = (task: Task, lines: number, what: string) =>
    eventually(
      async () => ((await linesShipped(task.id)) >= lines ? true : undefined),
      `${what} (${task.executor} task ${task.id})`,
      40_000,
    );

  it('cutting one host off ends only its local task as lost; its SSH and container tasks go on under another host, recorded once', async () => {
    const [one, two, three] = network!.hosts as [NetnsHost, NetnsHost, NetnsHost];
    // What each worker said is the first thing to read when this fails.
    onTestFailed(async () => {
      for (const w of workers) console.error(`--- worker ${w.executor} on ${w.host}:\n${w.log.join('')}`);
      console.error(`--- tasks:\n${(await h!.cli(['list'])).stdout}--- sshd:\n${sshd!.log().slice(-3000)}`);
    });
    const keys = new TaskKeys(h!.prefix);
    const redisClient = h!.redis();

    // Host 1 alone at first, one task at a time per executor: the first task of each runs there.
    await Promise.all(EXECUTORS.map((executor) => startHostWorker(one, executor, 1)));
    const onOne = await Promise.all(EXECUTORS.map((executor) => startTask(executor, `one-${executor}`)));
    await Promise.all(onOne.map((task) => untilShipped(task, 1, 'a task to start on host 1')));
    // Hosts 2 and 3 take the next tasks (host 1 is busy).
    await Promise.all([two, three].flatMap((host) => EXECUTORS.map((executor) => startHostWorker(host, executor))));
    const elsewhere = await Promise.all(
      EXECUTORS.flatMap((executor) => [1, 2].map((n) => startTask(executor, `other-${executor}-${n}`))),
    );
    await Promise.all(elsewhere.map((task) => untilShipped(task, 1, 'a task to start on host 2 or 3')));

    const [localOnOne, sshOnOne, boxOnOne] = onOne as [Task, Task, Task];
    expect(await redisClient.hget(keys.record(localOnOne.id), 'h:host')).toBe(one.name);
    for (const task of elsewhere.filter((t) => t.executor === 'local')) {
      expect([two.name, three.name]).toContain(await redisClient.hget(keys.record(task.id), 'h:host'));
    }
    const localPid = Number((await status(localOnOne.id)).pid);

    await network!.cut(one);

    // After the lock duration another host's worker takes the job; host 1's heartbeat is gone, so
    // it cannot reach the process, and says why.
    const lost = await eventually(
      async () => {
        const s = await status(localOnOne.id);
        return s.status === 'lost' ? s : undefined;
      },
      "host 1's local task to end as lost",
      40_000,
    );
    expect(lost.error).toMatch(
      new RegExp(
        `^host "${one.name}" stopped answering \\(no heartbeat for 1\\.5s, worker\\.host_heartbeat\\); this worker on "(${two.name}|${three.name})" cannot reach the task's process$`,
      ),
    );
    // Host 1 cannot be told: its process goes on, cut off.
    expect(countProcessGroup(localPid)).toBeGreaterThan(0);
    const lostRecord = await redisClient.hgetall(keys.record(localOnOne.id));

    // Host 1's SSH and container tasks: output keeps arriving although host 1 cannot reach Redis.
    for (const task of [sshOnOne, boxOnOne]) {
      const atCut = await linesShipped(task.id);
      await untilShipped(task, atCut + 10, 'another host to re-attach');
      expect((await status(task.id)).status).toBe('running');
    }
    for (const task of elsewhere) expect((await status(task.id)).status).toBe('running');

    // Host 1 comes back: its worker finds the local task ended and stops the orphan; it records nothing.
    await network!.restore(one);
    await eventually(
      async () => (countProcessGroup(localPid) === 0 ? true : undefined),
      "host 1's worker to stop its orphaned process",
      40_000,
    );

    writeFileSync(gate, '');
    for (const task of [sshOnOne, boxOnOne, ...elsewhere]) {
      const ended = await eventually(
        async () => {
          const s = await status(task.id);
          return s.status !== 'running' && s.status !== 'queued' ? s : undefined;
        },
        `${task.executor} task ${task.id} to end`,
        40_000,
      );
      expect(ended, `${task.executor} task ${task.id}`).toMatchObject({ status: 'completed', exit_code: 0 });
      const { stdout, ends } = await h!.logText(task.id);
      const count = Number(/lines (\d+)\n$/.exec(stdout)?.[1]);
      expect(count, `${task.executor} task ${task.id}: ${stdout.slice(-200)}`).toBeGreaterThan(0);
      expect(stdout).toBe(`${Array.from({ length: count }, (_, i) => `line${i + 1}\n`).join('')}lines ${count}\n`);
      expect(ends).toBe(1);
      expect(readFileSync(task.marker, 'utf8')).toBe('run\n');
    }

    // The lost task's record and log are as the other host left them: one end, nothing after it.
    expect(await redisClient.hgetall(keys.record(localOnOne.id))).toEqual(lostRecord);
    const entries = await readLog(redisClient, keys, localOnOne.id);
    expect(entries.filter((e) => e.kind === 'end')).toHaveLength(1);
    expect(entries.at(-1)?.kind).toBe('end');
    expect(readFileSync(localOnOne.marker, 'utf8')).toBe('run\n');
    // Host 1's workers are still up and connected (they answer again): none crashed on the way.
    for (const w of workers) expect(w.child.exitCode, `${w.executor} on ${w.host}: ${w.log.join('')}`).toBeNull();
    // ~70 s on a quiet 2-core VM (stall detection, liveness expiry, three hosts' workers); it passed
    // 150 s on a loaded one, so the limit leaves room for that.
  }, 300_000);
});

// Task processes still running under a host's spool directories are killed with their whole group.
function killTaskGroups(root: string): void {
  if (!existsSync(root)) return;
  for (const id of readdirSync(root)) {
    if (existsSync(path.join(root, id, 'exit'))) continue;
    try {
      const pid = Number(readFileSync(path.join(root, id, 'pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
