// The task panel's stylesheet and scripts, served from /assets (no framework). The script builds
// every node with createElement and textContent: task data is never parsed as HTML. The browser
// suite runs it, and a unit test parses it.
import { readFileSync } from 'node:fs';

export const PANEL_CSS = String.raw`
:root { color-scheme: dark; --bg: #0f1318; --panel: #161b22; --line: #2a313c; --text: #d4d7dd; --muted: #8b949e; --accent: #58a6ff;
  --ok: #3fb950; --bad: #f85149; --warn: #d29922; --run: #58a6ff; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font-size: 14px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header.top { display: flex; align-items: center; gap: 24px; padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 600; color: var(--text); }
header.top nav { display: flex; gap: 16px; flex: 1; }
header.top form.logout { margin: 0; }
button { background: #21262d; color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 5px 12px; cursor: pointer; font: inherit; }
button:hover { border-color: var(--muted); }
button.danger { border-color: #6e2b2b; color: #ffa198; }
button:disabled { opacity: .5; cursor: default; }
main { padding: 16px 20px; }
.muted { color: var(--muted); }
.error { color: var(--bad); }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; align-items: center; }
.toolbar input, .toolbar select { background: var(--panel); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 5px 8px; font: inherit; }
.toolbar input[type=search] { min-width: 260px; }
table.tasks { width: 100%; border-collapse: collapse; }
table.tasks th { text-align: left; color: var(--muted); font-weight: 500; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
table.tasks td { padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.tasks tr.task:hover { background: #1c2129; cursor: pointer; }
td.what { max-width: 520px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.icon { width: 28px; font-size: 16px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .mono, .log, .diff { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; border: 1px solid var(--line); }
.status.completed { color: var(--ok); border-color: #238636; }
.status.failed, .status.lost, .status.timed_out { color: var(--bad); border-color: #8e1519; }
.status.killed, .status.cancelled { color: var(--warn); border-color: #845306; }
.status.running { color: var(--run); border-color: #1f6feb; }
.status.queued { color: var(--muted); }
.status.blocked { color: #d2a8ff; border-color: #8957e5; border-style: dashed; }
.status.scheduled { color: #56d4dd; border-color: #1b7c83; border-style: dashed; }
.status.paused { color: var(--warn); border-color: #845306; }
td.state { max-width: 340px; }
.wait-note { font-size: 12px; color: var(--muted); margin-top: 3px; white-space: normal; overflow-wrap: anywhere; }
#waits .wait-note { margin: -4px 0 10px; font-size: 13px; }
dl.plan { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 12px; padding: 8px 16px; border-left: 3px solid #8957e5; background: var(--panel); }
dl.plan[hidden] { display: none; }
dl.plan dt { color: var(--muted); }
dl.plan dd { margin: 0; overflow-wrap: anywhere; }
.executors { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 12px; }
.executor { display: inline-flex; align-items: center; gap: 8px; padding: 3px 6px 3px 12px; border: 1px solid var(--line); border-radius: 16px; background: var(--panel); }
.executor .name { font-weight: 600; }
.executor .state { font-size: 12px; color: var(--ok); }
.executor.paused { border-color: #845306; }
.executor.paused .state { color: var(--warn); }
.executor .no-worker { font-size: 12px; color: var(--warn); font-weight: 600; }
button.switch { position: relative; width: 36px; height: 20px; padding: 0; border-radius: 10px; background: #21262d; }
button.switch::after { content: ""; position: absolute; top: 3px; left: 3px; width: 12px; height: 12px; border-radius: 50%; background: var(--muted); transition: left .15s; }
button.switch[aria-checked=true] { background: #5c3d06; border-color: var(--warn); }
button.switch[aria-checked=true]::after { left: 19px; background: var(--warn); }
.page-head { display: flex; align-items: baseline; gap: 12px; margin-bottom: 12px; }
.page-head h1 { font-size: 18px; margin: 0; font-weight: 600; }
table.schedules td .sub { font-size: 12px; color: var(--muted); }
table.schedules td .sub a { color: inherit; }
table.schedules .name, table.schedules td.cron code { white-space: nowrap; }
table.schedules tr:target { background: #1c2a3a; }
table.schedules td.actions { white-space: nowrap; text-align: right; }
table.schedules td.actions button + button { margin-left: 6px; }
.result.started { color: var(--ok); }
.result.skipped { color: var(--warn); }
.result.failed { color: var(--bad); }
.pager { display: flex; gap: 8px; align-items: center; margin-top: 12px; }
.task-head { display: flex; align-items: center; gap: 12px; margin-bottom: 12px; }
.task-head h1 { font-size: 18px; margin: 0; overflow-wrap: anywhere; font-weight: 600; display: flex; gap: 8px; align-items: baseline; min-width: 0; }
.task-head .title { flex: 1; min-width: 0; }
.task-head h1 .what.mono { font-size: 15px; font-weight: 500; }
.task-head .command { font-size: 13px; color: var(--muted); margin-top: 4px; display: flex; }
.clamp { display: block; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; cursor: pointer; }
.clamp.expanded { white-space: pre-wrap; overflow-wrap: anywhere; }
.facts { display: flex; flex-wrap: wrap; gap: 10px 28px; margin: 0 0 14px; padding: 10px 16px; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; }
.fact { display: flex; flex-direction: column; gap: 2px; min-width: 0; }
.fact .k { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.fact .abs { font-size: 12px; }
.fact .ok { color: var(--ok); }
.fact .bad { color: var(--bad); }
.fact .no-worker { color: var(--warn); font-size: 12px; }
.task-error { flex-basis: 100%; margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
ul.chips { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px; }
ul.chips li { padding: 0 8px; border: 1px solid var(--line); border-radius: 10px; font-size: 12px; line-height: 18px; }
ul.chips li.label { color: var(--accent); border-color: #1f6feb; }
ul.chips li.completed, ul.chips li.delivered { color: var(--ok); border-color: #238636; }
ul.chips li.failed, ul.chips li.lost, ul.chips li.timed_out, ul.chips li.gone { color: var(--bad); border-color: #8e1519; }
ul.chips li.killed, ul.chips li.cancelled, ul.chips li.retrying, ul.chips li.pending { color: var(--warn); border-color: #845306; }
details.raw-record > summary, details.activity > summary { cursor: pointer; }
details.activity { margin-bottom: 14px; }
.history { margin-bottom: 8px; }
.history-chart { display: flex; gap: 16px; align-items: flex-end; flex-wrap: wrap; }
.history-chart p { margin: 0; }
.timeline-box { margin-bottom: 10px; }
.timeline-head { display: flex; gap: 12px; margin-bottom: 4px; font-size: 13px; }
.timeline-head .name { font-weight: 600; }
svg.timeline { display: block; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
.chart .bar { fill: var(--muted); }
.chart .bar.completed { fill: var(--ok); }
.chart .bar.failed, .chart .bar.lost, .chart .bar.timed_out { fill: var(--bad); }
.chart .bar.killed, .chart .bar.cancelled { fill: var(--warn); }
.chart .bar.running { fill: var(--run); }
.chart .bar.current { stroke: var(--text); stroke-width: 2; }
.chart .bar.cost { fill: #d2a8ff; }
.chart a:hover .bar { opacity: .8; }
.chart .median { stroke: var(--text); stroke-dasharray: 4 3; opacity: .6; }
.chart .tick { stroke: var(--line); }
.chart .tick-label { fill: var(--muted); font-size: 10px; }
.chart .depth { fill: rgba(88, 166, 255, .22); stroke: var(--run); stroke-width: 1; }
.cost-box p { margin: 4px 0 0; }
dl.record { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 16px; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
dl.record dt { color: var(--muted); }
dl.record dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.section { font-size: 14px; font-weight: 600; margin: 16px 0 8px; }
.log-head { display: flex; gap: 12px; align-items: center; margin: 8px 0; flex-wrap: wrap; }
.log-tools { display: flex; gap: 8px; align-items: center; margin-left: auto; flex-wrap: wrap; }
.log-tools input[type=search] { background: var(--panel); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; font: inherit; min-width: 200px; }
button[aria-pressed=true] { border-color: var(--accent); color: var(--accent); }
.log { background: #0b0e12; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; height: 55vh; overflow: auto; white-space: pre; font-size: 13px; line-height: 1.35; }
.log .line { min-height: 1.35em; }
.log .line::before { content: attr(data-n); display: inline-block; min-width: 3.5em; margin-right: 14px; text-align: right; color: #4d5561; user-select: none; }
.log .line.match { background: rgba(210, 153, 34, .2); }
.log.only-matching.searching .line:not(.match) { display: none; }
.log .line.current:empty::before { content: none; }
.log .sys { color: var(--muted); font-style: italic; }
.log .err { color: #ffa198; }
.changes-head { display: flex; gap: 12px; align-items: center; margin: 16px 0 8px; }
ul.files { list-style: none; margin: 0 0 8px; padding: 0; font-size: 13px; }
ul.files li { display: flex; gap: 12px; }
ul.files .add { color: var(--ok); }
ul.files .del { color: var(--bad); }
.diff { background: #0b0e12; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; max-height: 70vh; overflow: auto; white-space: pre; font-size: 13px; line-height: 1.35; }
.diff .add { color: var(--ok); background: rgba(46, 160, 67, .12); }
.diff .del { color: var(--bad); background: rgba(248, 81, 73, .12); }
.diff .hunk { color: var(--accent); }
.diff .meta { color: var(--muted); font-weight: 600; }
body.login main { max-width: 360px; margin: 12vh auto; }
body.login form { display: flex; flex-direction: column; gap: 10px; }
body.login input { background: var(--panel); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 8px; font: inherit; }
`;

/**
 * The panel's script: bull-board/panel/panel.js, a plain browser script (one IIFE, ES2015 at
 * most) that ESLint checks with browser globals (eslint.config.js). Its bytes are served as they
 * are, read once from `panel/panel.js` next to this module, wherever that module runs:
 * - from the sources (vitest): bull-board/panel-assets.ts reads bull-board/panel/panel.js;
 * - compiled by tsc: dist/bull-board/panel-assets.js reads dist/bull-board/panel/panel.js, which
 *   .ci/bundle.mjs copies there (tsc copies no .js of ours);
 * - in the dashboard's bundle, dist/bull-board/dashboard.cjs: there `import.meta.url` is the
 *   bundle's own URL (the `define` in .ci/bundle.mjs), in the same folder, so the same file.
 * The file ships inside `dist` (package.json "files"). The CLI's main bundle never includes this
 * module (cli/side-bundles.ts loads the dashboard's bundle only for the commands that serve it).
 */
export const PANEL_JS = readFileSync(new URL('./panel/panel.js', import.meta.url), 'utf8');

/** The schedules page's script, bull-board/panel/schedules.js, read and shipped like PANEL_JS; it runs after it. */
export const SCHEDULES_JS = readFileSync(new URL('./panel/schedules.js', import.meta.url), 'utf8');

/** The charts' script, bull-board/panel/charts.js, read and shipped like PANEL_JS; it runs before it. */
export const CHARTS_JS = readFileSync(new URL('./panel/charts.js', import.meta.url), 'utf8');
