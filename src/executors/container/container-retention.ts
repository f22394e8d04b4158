// Removes containers: a task's on `cleanup`, and an executor's once `container_retention` is past.
import type Dockerode from 'dockerode';
import type { ExecutorConfig } from '../../config/config.js';
import { UserFacingError } from '../../errors.js';
import { resolveEngineAddress } from './engine-address.js';
import { connectEngine, engineMessage, isNotFound, statusOf, type Engine } from './engine-client.js';
import { EXECUTOR_LABEL, labelFilter, TASK_LABEL } from './container-spec.js';

/** Container states in which nothing runs (`configured` and `stopped` are podman's). */
const RESTING_STATES = new Set(['created', 'configured', 'exited', 'stopped', 'dead']);

/** The tasks among `taskIds` that have not ended (their record has no end); a task with no record has. */
export type UnendedTasks = (taskIds: readonly string[]) => Promise<ReadonlySet<string>>;

/**
 * Removes the executor's containers that have rested longer than `retentionMs`: ended ones since
 * they finished, never-started ones since they were created. With `unended`, the containers of a
 * task that has not ended are kept whatever their age: a run that waits out a usage limit or a
 * retry's backoff, for hours maybe, resumes the Claude session its last container holds
 * (container-session.ts). Returns the names of those removed.
 */
export async function sweepRestingContainers(
  engine: Engine,
  executor: string,
  retentionMs: number,
  now = Date.now(),
  unended?: UnendedTasks,
): Promise<string[]> {
  const listed = await engine.api.listContainers({ all: true, filters: labelFilter({ [EXECUTOR_LABEL]: executor }) });
  const due: Dockerode.ContainerInspectInfo[] = [];
  for (const summary of listed) {
    if (!RESTING_STATES.has(summary.State)) continue;
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await engine.api.getContainer(summary.Id).inspect();
    } catch (error) {
      if (isNotFound(error)) continue;
      throw error;
    }
    const finished = Date.parse(info.State.FinishedAt);
    const restingSince = finished > 0 ? finished : Date.parse(info.Created);
    if (now - restingSince >= retentionMs) due.push(info);
  }
  const taskOf = (info: Dockerode.ContainerInspectInfo) => info.Config.Labels?.[TASK_LABEL] ?? '';
  const kept = unended && due.length > 0 ? await unended([...new Set(due.map(taskOf))]) : new Set<string>();
  const removed: string[] = [];
  for (const info of due) {
    if (kept.has(taskOf(info))) continue;
    if (await removeContainer(engine, info.Id)) removed.push(info.Name.replace(/^\//, ''));
  }
  return removed;
}

/** Removes every container of a task (all attempts) with its anonymous volumes; returns their names. */
export async function removeTaskContainers(config: ExecutorConfig, taskId: string): Promise<string[]> {
  const { address, where } = resolveEngineAddress(config);
  const engine = connectEngine(address);
  try {
    const listed = await engine.api.listContainers({
      all: true,
      filters: labelFilter({ [TASK_LABEL]: taskId, [EXECUTOR_LABEL]: config.name }),
    });
    const removed: string[] = [];
    for (const summary of listed) {
      if (await removeContainer(engine, summary.Id)) removed.push((summary.Names[0] ?? summary.Id).replace(/^\//, ''));
    }
    return removed;
  } catch (error) {
    if (statusOf(error) !== undefined) throw error;
    throw new UserFacingError(
      'EXECUTOR_FAILED',
      `could not remove the containers of task ${taskId}: no container engine answers at ${where} (${engineMessage(error)})`,
    );
  } finally {
    engine.close();
  }
}

// Force (it may still be starting or stopping) and `v` (its anonymous volumes go with it).
export async function removeContainer(engine: Engine, id: string): Promise<boolean> {
  try {
    await engine.api.getContainer(id).remove({ force: true, v: true });
    return true;
  } catch (error) {
    // Gone already, or another worker is removing it right now.
    if (isNotFound(error) || statusOf(error) === 409) return false;
    throw error;
  }
}
