// A Claude session carried into a task's new container: a run that resumes a session (`claude
// --resume`) finds its transcript where the CLI looks, as on a host whose ~/.claude persists.
import path from 'node:path';
import type Dockerode from 'dockerode';
import { CLAUDE_CONFIG_DIR, projectDirName } from '../../claude/session-files.js';
import type { ExecutionContext } from '../executor.js';
import { ATTEMPT_LABEL, envMap, EXECUTOR_LABEL, labelFilter, TASK_LABEL } from './container-spec.js';
import { directoriesTar } from './directory-tar.js';
import { engineMessage, isNotFound, pathExists, readArchive, writeArchive, type Engine } from './engine-client.js';

/** How long carrying a session over may take, every request to the engine included. */
const CARRY_TIMEOUT_MS = 60_000;

type ContainerInfo = Dockerode.ContainerInspectInfo;
/** `~` in a container (ContainerSetup.homeIn). */
type HomeIn = (info: ContainerInfo) => Promise<string>;

/** The run that resumes a session, and where earlier runs of it may be. */
interface ResumingRun {
  taskId: string;
  /** Earlier runs of the task have lower numbers. */
  attempt: number;
  executor: string;
  session: string;
  /** The ended task whose session this one continues. */
  continues: string | undefined;
}

/**
 * Before a run that resumes a Claude session starts, copies the session's transcript (and its
 * directory of the same name, where the CLI made one) from the newest earlier container holding
 * it — the task's earlier runs first (a usage-limit wait, a retry), then the task it continues —
 * into the created container `target`, unless the transcript is there already (a volume). Only
 * that session's files: a projects directory on a shared volume holds other tasks' sessions.
 * Ended containers stay on the engine until `cleanup`, or `container_retention` once their task
 * has ended, and the engine reads a stopped container's files. Resolves with a line saying why
 * the session was not carried (the run starts anyway, and claude says it finds no conversation),
 * or undefined; never rejects. A stop of the task or the worker's shutdown cuts it short.
 */
export async function carryClaudeSession(
  engine: Engine,
  target: ContainerInfo,
  ctx: Pick<ExecutionContext, 'taskId' | 'attempt' | 'request' | 'executor' | 'signal' | 'stop'>,
  homeIn: HomeIn,
): Promise<string | undefined> {
  const { payload } = ctx.request;
  if (payload.type !== 'claude_code' || payload.resumeSessionId === undefined) return undefined;
  const run: ResumingRun = {
    taskId: ctx.taskId,
    attempt: ctx.attempt,
    executor: ctx.executor.name,
    session: payload.resumeSessionId,
    continues: payload.continues,
  };
  const timeout = AbortSignal.timeout(CARRY_TIMEOUT_MS);
  const stopped = new AbortController();
  const unwatch = ctx.stop.onTrip(() => stopped.abort(new Error('the task was stopped')));
  if (ctx.stop.request) stopped.abort(new Error('the task was stopped'));
  const signal = AbortSignal.any([ctx.signal, timeout, stopped.signal]);
  // Whose variables an engine's message could quote (a path under CLAUDE_CONFIG_DIR): never shown.
  const envs = [target.Config.Env ?? []];
  let why: string | undefined;
  try {
    why = await untilAborted(carry(engine, target, run, homeIn, { signal, envs }), signal);
  } catch (error) {
    why = timeout.aborted
      ? `the engine did not copy it within ${CARRY_TIMEOUT_MS / 1000}s`
      : withoutEnvValues(engineMessage(error), envs);
  } finally {
    unwatch();
  }
  return why && `could not carry Claude session ${run.session} over into this container: ${why}`;
}

// Copies the transcript's projects directory from the newest earlier container holding it;
// undefined when done (or not needed), else why not.
async function carry(
  engine: Engine,
  target: ContainerInfo,
  run: ResumingRun,
  homeIn: HomeIn,
  { signal, envs }: { signal: AbortSignal; envs: string[][] },
): Promise<string | undefined> {
  const cwd = target.Config.WorkingDir || '/';
  // The session's files in the directory the CLI names after the working directory (and each
  // container's environment). The CLI takes the real path: a working directory reached through a
  // symlink in the image is missed, as only the path as given is known here (nothing runs in a
  // created or stopped container to resolve it).
  const project = (info: ContainerInfo) => projectDirName(cwd, envMap(info.Config.Env));
  const files = [`${run.session}.jsonl`, run.session];
  const into = path.posix.join(await projectsDirIn(target, homeIn), project(target));
  if (await pathExists(engine, target.Id, path.posix.join(into, files[0]!), signal)) return undefined;
  const earlier = await earlierContainers(engine, run);
  if (earlier.length === 0) return noneLeft(run);
  for (const { id } of earlier) {
    const source = await inspect(engine, id);
    if (!source) continue;
    envs.push(source.Config.Env ?? []);
    const from = path.posix.join(await projectsDirIn(source, homeIn), project(source));
    if (!(await pathExists(engine, source.Id, path.posix.join(from, files[0]!), signal))) continue;
    await makeDirectory(engine, target.Id, into, signal);
    for (const file of files) {
      if (file !== files[0] && !(await pathExists(engine, source.Id, path.posix.join(from, file), signal))) continue;
      // Each archive's one top entry is the file (or directory) itself, unpacked into `into`.
      const tar = await readArchive(engine, source.Id, path.posix.join(from, file), signal);
      try {
        await writeArchive(engine, target.Id, into, tar, signal);
      } finally {
        tar.destroy();
      }
    }
    return undefined;
  }
  const names = earlier.map((container) => container.name).join(', ');
  return earlier.length === 1
    ? `the earlier container (${names}) holds no transcript of it for ${cwd}`
    : `no earlier container (${names}) holds a transcript of it for ${cwd}`;
}

// Where Claude Code keeps transcripts in the container: $CLAUDE_CONFIG_DIR/projects, else ~/.claude/projects.
async function projectsDirIn(info: ContainerInfo, homeIn: HomeIn): Promise<string> {
  const configDir = envMap(info.Config.Env).get(CLAUDE_CONFIG_DIR);
  if (configDir) return path.posix.resolve(info.Config.WorkingDir || '/', configDir, 'projects');
  return path.posix.resolve('/', await homeIn(info), '.claude', 'projects');
}

/**
 * The containers that may hold the session, newest first: the task's earlier runs on this
 * executor, then the continued task's runs (on any executor of this engine).
 */
async function earlierContainers(engine: Engine, run: ResumingRun): Promise<{ id: string; name: string }[]> {
  const runsOf = async (labels: Record<string, string>, before = Infinity) => {
    const listed = await engine.api.listContainers({ all: true, filters: labelFilter(labels) });
    return listed
      .map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        attempt: Number(c.Labels[ATTEMPT_LABEL]),
      }))
      .filter((c) => c.attempt < before)
      .sort((a, b) => b.attempt - a.attempt);
  };
  const own =
    run.attempt > 1 ? await runsOf({ [TASK_LABEL]: run.taskId, [EXECUTOR_LABEL]: run.executor }, run.attempt) : [];
  const continued = run.continues ? await runsOf({ [TASK_LABEL]: run.continues }) : [];
  return [...own, ...continued];
}

function noneLeft(run: ResumingRun): string {
  const whose = [
    ...(run.attempt > 1 ? ["this task's earlier runs"] : []),
    ...(run.continues ? [`task ${run.continues.slice(0, 8)}`] : []),
  ];
  if (whose.length === 0) return 'it comes from no earlier run of this task, and the task continues no other';
  return `no container of ${whose.join(' or ')} is on this engine (removed by \`cleanup\` or after \`container_retention\`, or it ran elsewhere)`;
}

// Makes `dir` and any missing parents in the created container, owned by its user.
async function makeDirectory(engine: Engine, id: string, dir: string, signal: AbortSignal): Promise<void> {
  const missing: string[] = [];
  let existing = dir;
  while (existing !== '/' && !(await pathExists(engine, id, existing, signal))) {
    missing.unshift(path.posix.basename(existing));
    existing = path.posix.dirname(existing);
  }
  if (missing.length === 0) return;
  const names = missing.map((_, index) => missing.slice(0, index + 1).join('/'));
  await writeArchive(engine, id, existing, directoriesTar(names), signal);
}

async function inspect(engine: Engine, id: string): Promise<ContainerInfo | undefined> {
  try {
    return await engine.api.getContainer(id).inspect();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

// The promise, or its rejection as soon as `signal` aborts (a request that ignores the signal is left to end by itself).
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

// The text with each variable's value (of 4 characters or more) shown as `$NAME`.
function withoutEnvValues(text: string, envs: readonly string[][]): string {
  let shown = text;
  for (const env of envs) {
    for (const [name, value] of envMap(env)) if (value.length >= 4) shown = shown.replaceAll(value, () => `$${name}`);
  }
  return shown;
}
