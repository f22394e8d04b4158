// How a command takes a task id: as its argument or with `-t/--task-id`.
import { Args, Flags } from '@oclif/core';
import { lib } from './load-library.js';

/** A task id is given as the first argument or with the original tool's `-t/--task-id`. */
export const taskIdArgs = {
  id: Args.string({ description: 'Task id or a unique prefix of 6+ characters', required: false }),
};
export const taskIdFlag = { 'task-id': Flags.string({ char: 't', description: 'Task id (same as the argument)' }) };

/** The id given; `orElse` names what a command takes instead of one (kill: a selection). */
export async function requireTaskId(
  arg: string | undefined,
  flag: string | undefined,
  orElse?: string,
): Promise<string> {
  const { UsageError } = await lib();
  // Two ids for one task: neither may silently win.
  if (arg !== undefined && flag !== undefined)
    throw new UsageError('give the task id as the argument or with --task-id, not both');
  const id = flag ?? arg;
  if (id) return id;
  const ways = orElse ? `as the argument, with --task-id, or ${orElse}` : 'as the argument or with --task-id';
  throw new UsageError(`missing task id: give it ${ways} (see \`openclaw-agent list\`)`);
}
