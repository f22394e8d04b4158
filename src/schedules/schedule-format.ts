// How the CLI prints schedules: one line for `schedule add`, the table for `schedule list`.
import { formatDuration } from '../config/duration.js';
import type { ScheduleView } from './schedule-store.js';

// `in 4h12m (2026-12-07 02:00 UTC)`, or `paused`.
function nextRun(view: ScheduleView, now: number): string {
  if (view.paused) return 'paused';
  if (view.nextRunAt === undefined) return '-';
  const at = new Date(view.nextRunAt).toISOString().replace('T', ' ').slice(0, 19);
  return `in ${formatDuration(Math.max(0, view.nextRunAt - now))} (${at} UTC)`;
}

/** `"0 3 * * *" Europe/Prague on crib: nix build — next in 4h12m (…)`. */
export function formatSchedule(view: ScheduleView, now = Date.now()): string {
  return `"${view.cron}" ${view.tz} on ${view.executor}: ${oneLine(view.summary, 60)} — next ${nextRun(view, now)}`;
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The `schedule list` table. */
export function formatScheduleTable(views: readonly ScheduleView[], now = Date.now()): string {
  if (views.length === 0) return 'No schedules. Add one with `openclaw-agent schedule add NAME --cron "…" -- run …`.';
  const rows = views.map((view) => [
    view.name,
    `${view.cron} ${view.tz}`,
    view.executor,
    nextRun(view, now),
    view.lastResult === undefined
      ? '-'
      : `${oneLine(view.lastResult, 50)}${view.lastTaskId !== undefined && view.lastResult === 'started' ? ` ${view.lastTaskId.slice(0, 8)}` : ''}`,
    view.overlap,
    oneLine(view.summary, 40),
  ]);
  const header = ['NAME', 'CRON', 'EXECUTOR', 'NEXT', 'LAST', 'OVERLAP', 'TASK'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
