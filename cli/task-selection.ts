// How `kill` and `wait` pick many tasks at once, by label, executor and status; `list` checks its
// filters the same way.
import { Flags } from '@oclif/core';
import type { LoadedConfig, TaskClient, TaskStatus, TaskView } from '../src/index.js';
import { lib } from './load-library.js';

/** The most tasks one bulk command acts on. */
const SELECTION_LIMIT = 10_000;

export interface SelectionFlags {
  label?: string;
  executor?: string;
  status?: string;
}

/** --label, --executor and --status for a command that acts on every task they select. */
export function selectionFlags(verb: string, which: string) {
  return {
    label: Flags.string({ description: `${verb} every task with this label ${which}` }),
    executor: Flags.string({ char: 'e', description: `${verb} every task of this executor ${which}` }),
    status: Flags.string({ description: `Only tasks with this status` }),
  };
}

/**
 * Checks the selection flags against the config before anything connects: a status a task can
 * have (one that has not ended, with `active`), an executor the config has.
 */
export async function checkSelection(
  config: LoadedConfig,
  flags: SelectionFlags,
  { active }: { active: boolean },
): Promise<void> {
  const {
    InvalidInputError,
    isEndedStatus,
    isTaskStatus,
    quoteInput,
    requireExecutor,
    ACTIVE_STATUSES,
    TASK_STATUSES,
  } = await lib();
  if (flags.status !== undefined && (!isTaskStatus(flags.status) || (active && isEndedStatus(flags.status)))) {
    throw new InvalidInputError(
      active
        ? `Expected --status to be one of ${ACTIVE_STATUSES.join(', ')} (tasks that have not ended), got ${quoteInput(flags.status)}`
        : `Expected --status to be one of ${TASK_STATUSES.join(', ')}, got ${quoteInput(flags.status)}`,
    );
  }
  if (flags.executor !== undefined) requireExecutor(config, flags.executor);
}

/**
 * The tasks the flags select (the caller checks them first with checkSelection), and the selection in words
 * (`with label nightly`): only those that have not ended with `active` (kill), else every one
 * still kept (wait).
 */
export async function selectTasks(
  client: TaskClient,
  flags: SelectionFlags,
  { active }: { active: boolean },
): Promise<{ views: TaskView[]; described: string }> {
  const { isEndedStatus } = await lib();
  const views = (
    await client.list({
      label: flags.label,
      executor: flags.executor,
      status: flags.status as TaskStatus | undefined,
      limit: SELECTION_LIMIT,
    })
  ).filter((view) => !active || !isEndedStatus(view.status));
  const words = [
    flags.label !== undefined ? `with label ${flags.label}` : '',
    flags.executor !== undefined ? `on ${flags.executor}` : '',
    flags.status !== undefined ? `${flags.status}` : '',
  ].filter(Boolean);
  return { views, described: words.join(', ') };
}

/** The line for a selection of no task that has not ended: `No running task with label nightly on crib.` */
export function noneSelectedLine(flags: SelectionFlags): string {
  const where = [
    flags.label !== undefined ? ` with label ${flags.label}` : '',
    flags.executor !== undefined ? ` on ${flags.executor}` : '',
  ].join('');
  return `No ${flags.status ?? 'waiting or running'} task${where}.`;
}
