import Docker from 'dockerode';
import path from 'node:path';
import type { TaskRecord } from '../../src/index.js';
import { FIXTURES } from './harness.js';
import { podmanSkipReason, startPodman, TEST_IMAGE, type PodmanService } from './podman.js';
import { countProcessGroup, processesOfSpoolDir } from './processes.js';
import { sshExecutorYaml, startSshd, type SshdServer } from './sshd.js';

/**
 * One executor the worker fault suite runs against: what it needs started once per file, the
 * `executors:` item naming it, and how to tell from outside whether a task's run is still alive.
 * The task's directory (the harness directory) and the fixtures are at the same paths where it runs.
 */
export interface WorkerFaultTarget {
  /** The executor's type, as the suite titles say it. */
  readonly type: 'local' | 'ssh' | 'container';
  /** The executor's name in the config, and the worker's `--executor`. */
  readonly executor: string;
  /** Why the target cannot run here, or undefined when it can. */
  readonly skipReason: string | undefined;
  /** Starts what the executor runs on (sshd, the podman API); call in `beforeAll`. */
  setup(): Promise<void>;
  /** The `executors:` list item (YAML) for a harness in `dir`. */
  executorYaml(dir: string): string;
  /** True while the task's run is alive where it runs: its process group, remote process group or container. */
  isRunning(record: TaskRecord): Promise<boolean>;
  /**
   * True while anything of the task's run is left where it runs: a live process group (from the
   * pid file in the recorded directory, so a run whose pid was never recorded counts too), or a
   * container of the task, started or not.
   */
  runLeft(record: TaskRecord): Promise<boolean>;
  /** Removes what a test left behind on the executor (containers); call in `afterEach`. */
  afterEach(): Promise<void>;
  /** Stops what `setup` started; call in `afterAll`. */
  teardown(): Promise<void>;
}

// A process group with a live member: the detached wrapper, or what it still waits for.
function processGroupRunning(record: TaskRecord): boolean {
  return record.pid !== undefined && countProcessGroup(record.pid) > 0;
}

function localTarget(): WorkerFaultTarget {
  return {
    type: 'local',
    executor: 'local',
    skipReason: undefined,
    async setup() {},
    // The harness always configures `local`.
    executorYaml: () => '',
    isRunning: async (record) => processGroupRunning(record),
    runLeft: async (record) => processesOfSpoolDir(record.handle.dir) > 0,
    async afterEach() {},
    async teardown() {},
  };
}

// sshd runs on this host, so the remote pid is a pid here too.
function sshTarget(): WorkerFaultTarget {
  let server: SshdServer | undefined;
  return {
    type: 'ssh',
    executor: 'crib',
    skipReason: undefined,
    async setup() {
      server = await startSshd();
    },
    executorYaml: (dir) => sshExecutorYaml(server!, 'crib', { spool_dir: path.join(dir, 'remote-tasks') }),
    isRunning: async (record) => processGroupRunning(record),
    runLeft: async (record) => processesOfSpoolDir(record.handle.dir) > 0,
    async afterEach() {},
    async teardown() {
      await server?.stop();
    },
  };
}

function containerTarget(): WorkerFaultTarget {
  let engine: PodmanService | undefined;
  let docker: Docker | undefined;
  return {
    type: 'container',
    executor: 'box',
    skipReason: podmanSkipReason(),
    async setup() {
      engine = await startPodman();
      docker = new Docker({ socketPath: engine.socket });
    },
    executorYaml: (dir) => `  - name: box
    type: container
    image: ${TEST_IMAGE}
    runtime: podman
    socket: ${engine!.url}
    pull: never
    volumes: ['${dir}:${dir}', '${FIXTURES}:${FIXTURES}:ro']
`,
    async isRunning(record) {
      const id = record.handle.container;
      if (id === undefined) return false;
      const info = await docker!.getContainer(id).inspect();
      return info.State.Running;
    },
    async runLeft(record) {
      const filters = { label: [`openclaw.task=${record.id}`] };
      return (await docker!.listContainers({ all: true, filters })).length > 0;
    },
    async afterEach() {
      const listed = (await docker?.listContainers({ all: true, filters: { label: ['openclaw.executor=box'] } })) ?? [];
      await Promise.all(
        listed.map((c) =>
          docker!
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
    },
    async teardown() {
      await engine?.stop();
    },
  };
}

/** Local, SSH (a real sshd) and container (podman's Docker API): each executor a worker can die on. */
export function workerFaultTargets(): WorkerFaultTarget[] {
  return [localTarget(), sshTarget(), containerTarget()];
}
