// How `kill` and `wait` pick many tasks at once: by label, executor and status, those not ended.
import { Flags } from '@oclif/core';
import type { TaskClient, TaskView } from '../src/index.js';
import { lib } from './load-library.js';

/** The most tasks one bulk command acts on. */
const SELECTION_LIMIT = 10_000;

export interface SelectionFlags {
  label?: string;
  executor?: string;
  status?: string;
}

/** --label, --executor and --status for a command that acts on every task they select. */
export function selectionFlags(verb: string) {
  return {
    label: Flags.string({ description: `${verb} every task with this label that has not ended` }),
    executor: Flags.string({ char: 'e', description: `${verb} the tasks of this executor that have not ended` }),
    status: Flags.string({ description: `Only tasks with this status (blocked, scheduled, queued or running)` }),
  };
}

/** The tasks the flags select that have not ended, and the selection in words (`with label nightly`). */
export async function selectTasks(
  client: TaskClient,
  flags: SelectionFlags,
): Promise<{ views: TaskView[]; described: string }> {
  const { InvalidInputError, isEndedStatus, isTaskStatus, quoteInput, ACTIVE_STATUSES } = await lib();
  if (flags.status !== undefined && (!isTaskStatus(flags.status) || isEndedStatus(flags.status))) {
    throw new InvalidInputError(
      `Expected --status to be one of ${ACTIVE_STATUSES.join(', ')} (tasks that have not ended), got ${quoteInput(flags.status)}`,
    );
  }
  if (flags.executor !== undefined) client.executorConfig(flags.executor);
  const views = (
    await client.list({
      label: flags.label,
      executor: flags.executor,
      status: flags.status as TaskView['status'] | undefined,
      limit: SELECTION_LIMIT,
    })
  ).filter((view) => !isEndedStatus(view.status));
  const words = [
    flags.label !== undefined ? `with label ${flags.label}` : '',
    flags.executor !== undefined ? `on ${flags.executor}` : '',
    flags.status !== undefined ? `${flags.status}` : '',
  ].filter(Boolean);
  return { views, described: words.join(', ') };
}
