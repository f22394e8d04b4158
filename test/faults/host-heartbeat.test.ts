// Local tasks across hosts sharing one Redis, told apart by their host ids (the worker processes
// run on this machine as `host-a` and `host-b`): a host's heartbeat decides who may touch its tasks.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEndedStatus, type TaskClient, type TaskView } from '../../src/index.js';
import { createHarness, eventually, FIXTURES, type Harness } from '../helpers/harness.js';
import { countProcessGroup } from '../helpers/processes.js';

const LINES_UNTIL = path.join(FIXTURES, 'lines-until.sh');
/** Short, so that a silent host is found out within seconds (the default is 10 s). */
const HEARTBEAT = '1500ms';

describe('host heartbeats and local tasks', () => {
  let h: Harness;
  let client: TaskClient;

  beforeEach(async () => {
    h = createHarness({ workerConfig: `  host_heartbeat: ${HEARTBEAT}` });
    client = await h.client();
  });
  afterEach(async () => {
    writeFileSync(path.join(h.dir, 'gate'), '');
    writeFileSync(path.join(h.dir, 'gate-blocker'), '');
    await h.cleanup();
  });

  const onHost = (host: string, concurrency = 1) =>
    h.startWorker('local', { OPENCLAW_AGENT_HOST_ID: host }, ['--concurrency', String(concurrency)]);
  const startTask = async (gate: string, marker: string): Promise<string> => {
    const r = await h.cli(['run', '-e', 'local', '--', LINES_UNTIL, '0.05', '2000', gate, marker, '0']);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const untilOutput = (id: string) =>
    eventually(async () => ((await h.logText(id)).stdout.includes('line2\n') ? true : undefined), `output of ${id}`);
  const untilEnded = (id: string) =>
    eventually(async () => {
      const view = await client.get(id);
      return isEndedStatus(view.status) ? view : undefined;
    }, `${id} to end`);
  const exited = (child: { once(event: 'exit', listener: () => void): unknown }) =>
    new Promise<void>((resolve) => child.once('exit', () => resolve()));

  it("a host whose workers all died: another host's worker ends its local task lost once the heartbeat is gone, without waiting for the dead worker's lock, and leaves the process alone", async () => {
    // The dead worker's lock outlasts the test: only the heartbeat sweep can end the task.
    writeFileSync(h.configPath, readFileSync(h.configPath, 'utf8').replace('lock_duration: 2s', 'lock_duration: 120s'));
    const a = await onHost('host-a');
    const id = await startTask(path.join(h.dir, 'gate'), path.join(h.dir, 'ran'));
    await untilOutput(id);
    const pid = (await client.get(id)).record.pid!;
    const gone = exited(a);
    a.kill('SIGKILL');
    await gone;

    await onHost('host-b');
    const ended: TaskView = await untilEnded(id);
    expect({ status: ended.status, error: ended.record.error }).toEqual({
      status: 'lost',
      error:
        'host "host-a" stopped answering (no heartbeat for 1.5s, worker.host_heartbeat); this worker on "host-b" cannot reach the task\'s process',
    });
    expect(ended.record.handle.host).toBe('host-a');
    expect(await client.queue('local').getJobState(id)).toBe('active');
    // Out of host-b's reach: untouched (the harness kills it at the end).
    expect(countProcessGroup(pid)).toBeGreaterThan(0);
    expect((await h.logText(id)).ends).toBe(1);
  });

  it("while a host beats, another host's worker hands its local task back, and the host's next worker re-attaches", async () => {
    const gate = path.join(h.dir, 'gate');
    const marker = path.join(h.dir, 'ran');
    const a1 = await onHost('host-a');
    const id = await startTask(gate, marker);
    await untilOutput(id);
    const pid = (await client.get(id)).record.pid!;
    // host-a's second worker is busy with a task of its own, so that host-b's worker gets the job first.
    const a2 = await onHost('host-a');
    const blocker = await startTask(path.join(h.dir, 'gate-blocker'), path.join(h.dir, 'ran-blocker'));
    await untilOutput(blocker);
    expect((await client.get(blocker)).record.handle.host).toBe('host-a');
    await onHost('host-b');
    const gone = exited(a1);
    a1.kill('SIGKILL');
    await gone;

    // host-b's worker takes the stalled job and gives it back (delayed): host-a still beats.
    await eventually(
      async () => ((await client.queue('local').getJobState(id)) === 'delayed' ? true : undefined),
      'the job handed back',
    );
    expect((await client.get(id)).status).toBe('running');
    expect(countProcessGroup(pid)).toBeGreaterThan(0);

    // host-a's worker is free: it re-attaches, and the task ends as it ends, run once.
    writeFileSync(path.join(h.dir, 'gate-blocker'), '');
    await untilEnded(blocker);
    const printed = (await h.logText(id)).stdout.split('\n').filter((l) => l.startsWith('line')).length;
    await eventually(async () => {
      const now = (await h.logText(id)).stdout.split('\n').filter((l) => l.startsWith('line')).length;
      return now > printed + 5 ? true : undefined;
    }, 'host-a to re-attach');
    writeFileSync(gate, '');
    const ended = await untilEnded(id);
    expect({ status: ended.status, exit_code: ended.record.exitCode }).toEqual({ status: 'completed', exit_code: 0 });
    const { stdout, ends } = await h.logText(id);
    const total = Number(/lines (\d+)\n$/.exec(stdout)?.[1]);
    expect(stdout).toBe(`${Array.from({ length: total }, (_, n) => `line${n + 1}\n`).join('')}lines ${total}\n`);
    expect(ends).toBe(1);
    expect(readFileSync(marker, 'utf8')).toBe('run\n');
    expect(ended.record.handle.host).toBe('host-a');
    expect(a2.exitCode).toBeNull();
  });
});
