// The MCP tools schedule and schedules, pause_executor and resume_executor: what each does and answers.
import { z } from 'zod';
import { ApiExecutorSchema, ApiScheduleSchema } from '../api/contract.js';
import { UsageError, UserFacingError } from '../errors.js';
import { buildClaudePayload, buildShellPayload } from '../tasks/input.js';
import type { EnqueueInput, TaskClient } from '../tasks/client.js';
import {
  addSchedule,
  getSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  scheduleJson,
  type ScheduleView,
} from '../schedules/schedule-store.js';
import { escapeControls } from '../text/escape.js';
import { tool, type McpTool, type McpToolContext } from './mcp-tool.js';
import { taskInputOf } from './task-args.js';
import { CLAUDE_FIELDS, ExecutorInput, ScheduleInput, SchedulesInput } from './tool-inputs.js';

const ScheduleOutput = ApiScheduleSchema.extend({
  /** `remove` answers the schedule as it was, with `removed: true`. */
  removed: z.boolean().optional(),
});
const SchedulesOutput = z.object({ schedules: z.array(ApiScheduleSchema) });

// The schedule and executor tools, in the order MCP_TOOLS lists them after the task tools.
export const SCHEDULE_TOOLS: readonly McpTool[] = [
  tool({
    name: 'schedule',
    description:
      'Add, pause, resume or remove a named schedule: a cron pattern whose every tick queues an ordinary task ' +
      '(named after the schedule, labelled schedule:NAME). add takes `cron`, `tz`, `overlap` and `task` ' +
      '(`command`/`argv` or `prompt`, with the options of run or start); the task is checked now. See `schedules` for what exists.',
    input: ScheduleInput,
    output: ScheduleOutput,
    readOnly: false,
    async handle(context, args) {
      const { client } = context;
      if (args.action !== 'add') {
        const extra = (['cron', 'tz', 'overlap', 'task'] as const).find((key) => args[key] !== undefined);
        if (extra) throw new UsageError(`\`${extra}\` is for action add, not ${args.action}`);
      }
      if (args.action === 'add') {
        if (args.cron === undefined) throw new UsageError('add needs `cron`: a pattern like "0 3 * * *"');
        const task = scheduleTaskOf(context, args.task);
        const view = await addSchedule(client, {
          name: args.name,
          cron: args.cron,
          tz: args.tz,
          overlap: args.overlap,
          task,
        });
        return { text: `added: ${describeSchedule(view)}`, structured: scheduleJson(view) };
      }
      if (args.action === 'remove') {
        const view = await getSchedule(client, args.name);
        await removeSchedule(client, args.name);
        return {
          text: `schedule ${args.name} removed; the tasks it made stay`,
          structured: { ...scheduleJson(view!), removed: true },
        };
      }
      const view = await (args.action === 'pause' ? pauseSchedule : resumeSchedule)(client, args.name);
      return {
        text: `${args.action === 'pause' ? 'paused' : 'resumed'}: ${describeSchedule(view)}`,
        structured: scheduleJson(view),
      };
    },
  }),
  tool({
    name: 'schedules',
    description:
      'The schedules (all, or the one named): pattern, time zone, whether paused, next tick, the executor and type of the task each tick queues, and the last task it made.',
    input: SchedulesInput,
    output: SchedulesOutput,
    readOnly: true,
    async handle({ client }, args) {
      let views: ScheduleView[];
      if (args.name === undefined) views = await listSchedules(client);
      else {
        const view = await getSchedule(client, args.name);
        if (!view)
          throw new UserFacingError(
            'SCHEDULE_NOT_FOUND',
            `no schedule named "${args.name}" — call schedules for the names`,
          );
        views = [view];
      }
      const text = views.length === 0 ? 'no schedules' : views.map(describeSchedule).join('\n');
      return { text, structured: { schedules: views.map(scheduleJson) } };
    },
  }),
  tool({
    name: 'pause_executor',
    description:
      'Pause an executor: its workers take no new task until resume_executor (running tasks go on). Tasks sent to it meanwhile wait, queued, and say so in status.',
    input: ExecutorInput,
    output: ApiExecutorSchema,
    readOnly: false,
    async handle({ client }, args) {
      const name = client.executorConfig(args.executor).name;
      await client.setExecutorPaused(name, true);
      return {
        text: `executor ${name} paused: its workers take no new task until resume_executor; running tasks go on`,
        structured: await executorStatus(client, name),
      };
    },
  }),
  tool({
    name: 'resume_executor',
    description: 'Resume a paused executor: its workers take tasks again, the waiting ones first.',
    input: ExecutorInput,
    output: ApiExecutorSchema,
    readOnly: false,
    async handle({ client }, args) {
      const name = client.executorConfig(args.executor).name;
      await client.setExecutorPaused(name, false);
      return {
        text: `executor ${name} resumed: its workers take tasks again`,
        structured: await executorStatus(client, name),
      };
    },
  }),
];

// The schedule's task from the `task` argument: a command or a prompt, with the options of run or start.
function scheduleTaskOf(context: McpToolContext, task: z.output<typeof ScheduleInput>['task']): EnqueueInput {
  if (task === undefined)
    throw new UsageError('add needs `task`: `command` or `argv` (as run), or `prompt` (as start), with their options');
  const kinds = (['command', 'argv', 'prompt'] as const).filter((key) => task[key] !== undefined);
  if (kinds.length !== 1) {
    throw new UsageError(
      `give the task exactly one of \`task.command\`, \`task.argv\` (a command) or \`task.prompt\` (a Claude prompt)${kinds.length > 1 ? `, not ${kinds.join(' and ')}` : ''}`,
    );
  }
  if (task.prompt === undefined) {
    const claudeOnly = CLAUDE_FIELDS.find((key) => task[key] !== undefined);
    if (claudeOnly)
      throw new UsageError(`\`task.${claudeOnly}\` is for a prompt: a command takes no \`${claudeOnly}\``);
    const payload = buildShellPayload({ cmd: task.command, argv: task.argv, env: task.env, workdir: task.workdir });
    return taskInputOf(context, payload, task);
  }
  if (task.workdir !== undefined)
    throw new UsageError('`task.workdir` is for a command: a prompt takes `task.workspace`');
  if (task.env !== undefined) throw new UsageError('`task.env` is for a command: a prompt takes none');
  const payload = buildClaudePayload({
    prompt: task.prompt,
    maxTurns: task.max_turns,
    workspace: task.workspace,
    allowedTools: task.allowed_tools,
    disallowedTools: task.disallowed_tools,
    model: task.model,
    permissionMode: task.permission_mode,
    maxBudgetUsd: task.max_budget_usd === undefined ? undefined : String(task.max_budget_usd),
    appendSystemPrompt: task.append_system_prompt,
  });
  return taskInputOf(context, payload, { ...task, onLimit: task.on_limit, limitWaits: task.limit_waits });
}

// `schedule nightly (0 3 * * * in UTC) queues a shell_command task on local at each tick; next 2026-…`:
// names, the pattern and times only, never what the task runs or printed.
function describeSchedule(view: ScheduleView): string {
  const when = view.paused
    ? 'paused (no ticks until resumed)'
    : `next tick ${view.nextRunAt === undefined ? 'unknown' : new Date(view.nextRunAt).toISOString()}`;
  const last = view.lastTaskId !== undefined ? `, last task ${view.lastTaskId}` : '';
  return (
    `schedule ${view.name} (${escapeControls(view.cron)} in ${escapeControls(view.tz)}) queues a ${view.taskType} task on ${view.executor} at each tick, ` +
    `overlap ${view.overlap}; ${when}; fired ${view.fired} time${view.fired === 1 ? '' : 's'}${last}`
  );
}

// An executor's JSON with whether it is paused and who serves it, as GET /api/executors gives it.
async function executorStatus(client: TaskClient, name: string) {
  return (await client.executorStates([client.executorConfig(name).name]))[0]!;
}
