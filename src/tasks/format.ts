// How the CLI prints tasks and executors: the list table, the status block, one-line summaries.
import type { ExecutorConfig } from '../config/config.js';
import { formatDuration } from '../config/duration.js';
import { TASK_TYPE_ICONS } from './request.js';
import type { TaskView } from './record.js';
import { limitWaitNote } from '../claude/usage-limit.js';
import type { ExecutorService } from './worker-roster.js';
import { escapeControls } from '../text/escape.js';

/**
 * Shortens to `max` columns on one line, with an ellipsis; line breaks show as ⏎ and other
 * control characters escaped, so that a task's text cannot move the cursor or retitle the terminal.
 */
export function truncate(text: string, max: number): string {
  const oneLine = escapeControls(text.replace(/\s*\n\s*/g, ' ⏎ '));
  return oneLine.length > max ? `${oneLine.slice(0, Math.max(0, max - 1))}…` : oneLine;
}

// Every line the formatters print: what a task, a config or a worker gave stays on its line, escaped.
// escapeControls leaves no control character, so escaping a line twice changes nothing.
function safeLines(lines: readonly string[]): string {
  return lines.map(escapeControls).join('\n');
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function durationOf(view: TaskView, now: number): string {
  const r = view.record;
  if (r.startedAt === undefined) return '-';
  return formatDuration((r.finishedAt ?? now) - r.startedAt);
}

/** The `list` table, newest first: icon, short id, executor, status, age, duration, name or command. */
export function formatTaskTable(views: readonly TaskView[], now: number = Date.now()): string {
  if (views.length === 0) return 'No tasks found.';
  const rows = views.map((view) => {
    const r = view.record;
    const what = r.name ?? r.summary;
    const env = r.envKeys.length > 0 ? `  [env: ${r.envKeys.join(',')}]` : '';
    const waits = view.waitingFor !== undefined ? `  ⏳ ${truncate(view.waitingFor, 60)}` : '';
    return [
      TASK_TYPE_ICONS[r.taskType],
      r.id.slice(0, 8),
      r.executor,
      limitWaitNote(r, now) ??
        view.status + (view.status === 'failed' && r.exitCode !== undefined ? ` (${r.exitCode})` : ''),
      formatDuration(now - r.createdAt),
      durationOf(view, now),
      claudeBrief(r.claude),
      truncate(what, 60) + env + waits,
    ].map(escapeControls);
  });
  const header = ['', 'ID', 'EXECUTOR', 'STATUS', 'AGE', 'DURATION', 'TURNS/COST', 'NAME / COMMAND'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  // The icon column: emoji are two columns wide whatever their string length.
  widths[0] = 2;
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : i === 0 ? cell + (cell === '' ? '  ' : '') : pad(cell, widths[i]!),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

// What a task that has not started waits for: a usage limit, other tasks, its time, or its turn.
function statusDetail(view: TaskView, now: number): string {
  const limit = limitWaitNote(view.record, now);
  const waits = view.record.limit?.waits ?? 0;
  if (limit) return ` — ${limit}${waits > 0 ? `, wait ${waits} of ${view.record.limit!.allowed ?? waits}` : ''}`;
  const position = view.queuePosition !== undefined ? ` (position ${view.queuePosition} in queue)` : '';
  if (view.waitingFor !== undefined) return `${position} — waiting for ${view.waitingFor}`;
  if (view.waitingReason === 'queue' && view.queuePosition !== undefined && view.queuePosition > 1)
    return `${position} — ${view.queuePosition - 1} ahead of it`;
  return position;
}

/** A Claude task's turns and cost for `list`; `-` for commands. */
function claudeBrief(claude: TaskView['record']['claude']): string {
  if (!claude) return '-';
  const turns = claude.num_turns ?? claude.turns ?? 0;
  return `${turns} turn${turns === 1 ? '' : 's'}${claude.total_cost_usd !== undefined ? ` ${formatUsd(claude.total_cost_usd)}` : ''}`;
}

export function formatUsd(dollars: number): string {
  return `$${dollars < 1 ? dollars.toFixed(4) : dollars.toFixed(2)}`;
}

/** The human `status` block, in the original tool's layout with the new fields after it. */
export function formatStatusBlock(view: TaskView, now: number = Date.now()): string {
  const r = view.record;
  const time = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());
  const lines = [
    `${TASK_TYPE_ICONS[r.taskType]}  Task:     ${r.id}`,
    `   Type:     ${r.taskType}`,
    `   Executor: ${r.executor} (${r.executorType})`,
    `   Status:   ${view.status}${statusDetail(view, now)}`,
    `   PID:      ${r.pid ?? 'N/A'}`,
  ];
  if (r.name) lines.push(`   Name:     ${r.name}`);
  lines.push(`   ${r.taskType === 'claude_code' ? 'Prompt:  ' : 'Command: '} ${truncate(r.summary, 200)}`);
  if (r.workdir) lines.push(`   Workdir:  ${r.workdir}`);
  if (r.envKeys.length > 0) lines.push(`   Env:      ${r.envKeys.join(', ')} (values hidden)`);
  if (r.labels.length > 0) lines.push(`   Labels:   ${r.labels.join(', ')}`);
  if (r.after !== undefined)
    lines.push(`   After:    ${r.after.join(', ')}${r.afterAny ? ' (whatever their end)' : ' (each completed)'}`);
  if (r.runAt !== undefined) lines.push(`   Start at: ${time(r.runAt)}`);
  if (r.priority !== undefined) lines.push(`   Priority: ${r.priority}`);
  if (r.concurrency) lines.push(`   Key:      ${r.concurrency.key} (at most ${r.concurrency.limit} running at once)`);
  if (r.schedule !== undefined) lines.push(`   Schedule: ${r.schedule}`);
  lines.push(
    `   Created:  ${time(r.createdAt)}`,
    `   Started:  ${time(r.startedAt)}`,
    `   Updated:  ${time(r.updatedAt ?? r.createdAt)}`,
  );
  if (r.finishedAt !== undefined) lines.push(`   Finished: ${time(r.finishedAt)}`);
  if (r.startedAt !== undefined) lines.push(`   Duration: ${durationOf(view, now)}`);
  if (r.exitCode !== undefined) lines.push(`   Exit:     ${r.exitCode}`);
  if (r.error) lines.push(`   Error:    ${r.error}`);
  if (r.signal) lines.push(`   Signal:   ${r.signal}`);
  if (r.attempts.length > 0 || r.attempt > 1) {
    lines.push(`   Attempt:  ${r.attempt}`);
    for (const a of r.attempts) {
      lines.push(
        `     #${a.attempt} ${a.outcome}${a.exit_code !== null ? ` (exit ${a.exit_code})` : ''} at ${a.finished_at}${a.error ? ` — ${truncate(a.error, 60)}` : ''}`,
      );
    }
  }
  if (r.stop && !r.outcome) lines.push(`   Stopping: ${r.stop.reason}`);
  if (r.continues) lines.push(`   Continues: ${r.continues}`);
  if (r.git) {
    const g = r.git;
    const changed =
      g.files_changed !== undefined
        ? ` · ${g.files_changed} file${g.files_changed === 1 ? '' : 's'} changed, +${g.insertions ?? 0} -${g.deletions ?? 0}`
        : '';
    lines.push(`   Worktree: ${g.worktree} on ${g.branch} from ${g.base} (${g.base_sha.slice(0, 7)})${changed}`);
  }
  const c = r.claude;
  if (c) {
    if (c.session_id) lines.push(`   Session:  ${c.session_id}${c.model ? ` (${c.model})` : ''}`);
    const tokens =
      c.input_tokens !== undefined || c.output_tokens !== undefined
        ? ` · tokens ${c.input_tokens ?? 0} in / ${c.output_tokens ?? 0} out`
        : '';
    lines.push(
      `   Turns:    ${c.num_turns ?? c.turns ?? 0}${c.last_tool ? ` · last: ${truncate(c.last_tool, 80)}` : ''}${tokens}`,
    );
    if (c.last_event)
      lines.push(
        `   Claude:   ${truncate(c.last_event, 120)}${c.api_retries ? ` (${c.api_retries} API ${c.api_retries === 1 ? 'retry' : 'retries'})` : ''}`,
      );
    if (c.subtype) {
      const cost = c.total_cost_usd !== undefined ? ` · ${formatUsd(c.total_cost_usd)}` : '';
      const took = c.duration_ms !== undefined ? ` · ${formatDuration(c.duration_ms)}` : '';
      lines.push(`   Result:   ${c.subtype}${c.is_error ? ' (error)' : ''}${cost}${took}`);
      if (c.result)
        lines.push(
          ...c.result
            .trim()
            .split('\n')
            .slice(0, 20)
            .map((line) => `             ${truncate(line, 200)}`),
        );
    }
  }
  for (const w of r.webhooks) {
    const detail = w.error ? ` — ${truncate(w.error, 60)}` : w.status ? ` (HTTP ${w.status})` : '';
    lines.push(
      `   Webhook:  ${w.target} ${w.state} after ${w.attempts} attempt${w.attempts === 1 ? '' : 's'}${detail}`,
    );
  }
  lines.push(...notifierLines(r));
  return safeLines(lines);
}

// Each notifier's delivery once the task ended; before that, which ones will announce it.
function notifierLines(r: TaskView['record']): string[] {
  const delivered = new Set(r.notifiers.map((n) => n.name));
  const waiting = r.notify.filter((name) => !delivered.has(name));
  const lines = r.notifiers.map((n) => {
    const tries = n.state === 'pending' ? '' : ` after ${n.attempts} attempt${n.attempts === 1 ? '' : 's'}`;
    const detail = n.error ? ` — ${truncate(n.error, 100)}` : n.outcome ? ` (${n.outcome})` : '';
    return `   Notify:   ${n.name} (${n.type} ${n.target}) ${n.state}${tries}${detail}`;
  });
  if (waiting.length > 0 && r.outcome === undefined) lines.push(`   Notify:   ${waiting.join(', ')} when it ends`);
  return lines;
}

/** An executor as `executors --json` and the API show it: the original tool's fields first; env keys, never values. */
export function executorJson(e: ExecutorConfig) {
  return {
    name: e.name,
    type: e.type,
    host: e.host ?? null,
    labels: e.labels,
    port: e.type === 'ssh' ? e.port : null,
    user: e.user ?? null,
    image: e.image ?? null,
    runtime: e.type === 'container' ? e.runtime : null,
    concurrency: e.concurrency,
    env_keys: Object.keys(e.env),
  };
}

/** An executor's live workers, as `executors --json` and the API show them (times in ISO 8601). */
export function executorServiceJson(service: ExecutorService) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    workers: service.workers.map((w) => ({
      id: w.id,
      host: w.host,
      pid: w.pid,
      version: w.version,
      started_at: iso(w.startedAt),
      concurrency: w.concurrency,
      running: w.running,
      last_seen_at: iso(w.lastSeenAt),
    })),
    served: service.workers.length > 0,
    last_served_at: service.lastServedAt === undefined ? null : iso(service.lastServedAt),
  };
}

/** "2 on crib-a, crib-b  1/4 running", or "no worker — last seen 12m00s ago" / "no worker — never served". */
export function describeExecutorWorkers(service: ExecutorService, now: number = Date.now()): string {
  const { workers, lastServedAt } = service;
  if (workers.length === 0)
    return `no worker — ${lastServedAt === undefined ? 'never served' : `last seen ${formatDuration(Math.max(0, now - lastServedAt))} ago`}`;
  const hosts = [...new Set(workers.map((w) => escapeControls(w.host)))];
  const running = workers.reduce((sum, w) => sum + w.running, 0);
  const slots = workers.reduce((sum, w) => sum + w.concurrency, 0);
  return `${workers.length} on ${hosts.join(', ')}  ${running}/${slots} running`;
}

/**
 * The `executors` table in the original tool's columns, plus concurrency, and when Redis answers:
 * the live workers of each (and which are paused).
 */
export function formatExecutorTable(
  executors: readonly ExecutorConfig[],
  paused?: ReadonlySet<string>,
  services?: ReadonlyMap<string, ExecutorService>,
  now: number = Date.now(),
): string {
  if (executors.length === 0) {
    return 'No executors configured.\nRun `openclaw-agent config --init` to create a sample config.';
  }
  const header = `${pad('NAME', 15)} ${pad('TYPE', 12)} ${pad('HOST', 20)} ${pad('CONCURRENCY', 12)} ${pad('LABELS', 16)}${services ? ' WORKERS' : ''}`;
  const rows = executors.map((e) => {
    const service = services?.get(e.name);
    const workers = service ? ` ${describeExecutorWorkers(service, now)}` : '';
    const host = escapeControls(e.host ?? '-');
    const labels = escapeControls(e.labels.join(', '));
    return `${pad(e.name, 15)} ${pad(e.type, 12)} ${pad(host, 20)} ${pad(String(e.concurrency), 12)} ${pad(labels, 16)}${workers}${paused?.has(e.name) ? '  (paused)' : ''}`.trimEnd();
  });
  return safeLines([header, '-'.repeat(services ? 96 : 72), ...rows]);
}

/**
 * One line per ended task for `wait`: icon, short id, status, exit code, duration, name or
 * command, and the error unless `withError` is false (it may quote the task's output).
 */
export function formatEndSummary(view: TaskView, now: number = Date.now(), withError = true): string {
  const r = view.record;
  const code = r.exitCode !== undefined ? ` (exit ${r.exitCode})` : r.signal ? ` (${r.signal})` : '';
  const error = r.error && withError ? ` — ${truncate(r.error, 80)}` : '';
  return escapeControls(
    `${TASK_TYPE_ICONS[r.taskType]}  ${r.id.slice(0, 8)} ${view.status}${code} in ${durationOf(view, now)}  ${truncate(r.name ?? r.summary, 60)}${error}`,
  );
}
