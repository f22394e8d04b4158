// A task's container as the engine is asked to create it: name, labels, argv, env, mounts, limits.
import type Dockerode from 'dockerode';
import type { ExecutorConfig } from '../../config/config.js';
import type { TaskCommand } from '../task-command.js';

/** Labels that find a task's container again, on any worker: by task, executor and attempt. */
export const TASK_LABEL = 'openclaw.task';
export const EXECUTOR_LABEL = 'openclaw.executor';
export const ATTEMPT_LABEL = 'openclaw.attempt';

/** The PATH an engine gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * `openclaw-<executor>-<first 8 of the task id>`, with `-<attempt>` for retries. `fullId` names it
 * with the whole task id, for the rare task whose first 8 characters another task's container has.
 */
export function containerName(executor: string, taskId: string, attempt: number, fullId = false): string {
  return `openclaw-${executor}-${fullId ? taskId : taskId.slice(0, 8)}${attempt > 1 ? `-${attempt}` : ''}`;
}

export function containerLabels(executor: string, taskId: string, attempt: number): Record<string, string> {
  return { [TASK_LABEL]: taskId, [EXECUTOR_LABEL]: executor, [ATTEMPT_LABEL]: String(attempt) };
}

/** The label filter for `GET /containers/json` that matches `labels`. */
export function labelFilter(labels: Record<string, string>): { label: string[] } {
  return { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) };
}

export interface ContainerSpecInput {
  config: ExecutorConfig;
  name: string;
  labels: Record<string, string>;
  command: TaskCommand;
  /** The command's argv and working directory with `~` already expanded for the container. */
  argv: string[];
  workdir: string | undefined;
}

/**
 * What the engine is asked to create for one task: the argv as `Cmd` with the image's entrypoint
 * cleared (the argv runs as given, as on the other executors), an init process as PID 1 (signals
 * forwarded, zombies reaped), no AutoRemove (it would lose the exit code), stdin open only for a
 * prompt, and the executor's limits. `memory` caps swap too (MemorySwap = Memory).
 */
export function buildCreateOptions(input: ContainerSpecInput): Dockerode.ContainerCreateOptions {
  const { config, command } = input;
  const unset = new Set(command.unsetEnv);
  const env = Object.entries(command.env)
    .filter(([key]) => !unset.has(key))
    .map(([key, value]) => `${key}=${value}`);
  const stdin = command.stdin !== undefined;
  const hostConfig: Dockerode.HostConfig = { Init: true, AutoRemove: false };
  // `host-path:container-path[:ro]` and `name:container-path` are binds; a lone path is an
  // anonymous volume (removed with the container by `cleanup`).
  const binds = config.volumes.filter((volume) => volume.includes(':'));
  const anonymous = config.volumes.filter((volume) => !volume.includes(':'));
  if (binds.length > 0) hostConfig.Binds = binds;
  if (config.memory !== undefined) {
    hostConfig.Memory = config.memory;
    hostConfig.MemorySwap = config.memory;
  }
  if (config.cpus !== undefined) hostConfig.NanoCpus = Math.round(config.cpus * 1e9);
  if (config.pids_limit !== undefined) hostConfig.PidsLimit = config.pids_limit;
  if (config.network !== undefined) hostConfig.NetworkMode = config.network;
  const options: Dockerode.ContainerCreateOptions = {
    name: input.name,
    Image: config.image,
    Entrypoint: [''],
    Cmd: input.argv,
    Env: env,
    Labels: input.labels,
    Tty: false,
    AttachStdin: stdin,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: stdin,
    StdinOnce: stdin,
    HostConfig: hostConfig,
  };
  if (anonymous.length > 0) options.Volumes = Object.fromEntries(anonymous.map((volume) => [volume, {}]));
  if (input.workdir !== undefined) options.WorkingDir = input.workdir;
  if (config.user !== undefined) options.User = config.user;
  return options;
}

/** `KEY=value` entries as a map (the first `=` splits). */
export function envMap(entries: readonly string[] | null | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of entries ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return map;
}

/**
 * The home directory of `user` (`name`, `uid`, `name:group` or `uid:gid`; empty means root) in an
 * /etc/passwd text, as the engine sets HOME; undefined when the user has no entry.
 */
export function homeFromPasswd(passwd: string, user: string): string | undefined {
  const who = user.split(':')[0] || '0';
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7) continue;
    if (fields[0] === who || fields[2] === who || (who === 'root' && fields[2] === '0')) return fields[5] || '/';
  }
  return undefined;
}
