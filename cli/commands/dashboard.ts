// `openclaw-agent dashboard`: serves the dashboard until Ctrl-C, or prints every task as JSON.
import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import type { TaskClient } from '../../src/index.js';
import { BaseCommand } from '../base-command.js';
import { loadDashboard } from '../side-bundles.js';
import { lib } from '../load-library.js';
import { chooseLogFormat, logFormatFlag, sayLoginUrl } from '../log-format-flag.js';

export default class Dashboard extends BaseCommand {
  static override summary = 'Serve the dashboard (task panel, Bull Board, REST API), or print every task as JSON';
  static override description =
    'Serves until Ctrl-C: the task panel at /, Bull Board at /queues, the REST API under /api (OpenAPI at /api/openapi.json), /healthz and /metrics. ' +
    'It listens on 127.0.0.1 unless told otherwise; any other --host needs a token, from $OPENCLAW_AGENT_DASHBOARD_TOKEN or --token-file. ' +
    'Without a token, reads are open on loopback and writes need the local secret in the data directory (the CLI and the client read it); a browser logs in once through the link printed at start. ' +
    "With --stream, --json or --watch it prints the original tool's JSON views instead of serving.";
  static override examples = [
    '<%= config.bin %> dashboard',
    '<%= config.bin %> dashboard --host 0.0.0.0 --port 8080 --token-file ~/.config/openclaw/dashboard-token',
    '<%= config.bin %> dashboard --stream | jq -r .status',
    '<%= config.bin %> dashboard --watch 5',
  ];
  static override flags = {
    port: Flags.integer({ description: 'Port to listen on', default: 3000, min: 0, max: 65535 }),
    host: Flags.string({
      description: 'Address to listen on (anything but loopback needs a token)',
      default: '127.0.0.1',
    }),
    'read-only': Flags.boolean({ description: 'Refuse to start, kill or retry tasks; Bull Board read-only' }),
    'token-file': Flags.string({
      description: 'File holding the dashboard token (default: $OPENCLAW_AGENT_DASHBOARD_TOKEN)',
    }),
    stream: Flags.boolean({ description: 'Print one JSON line per task (newest first) and exit' }),
    json: Flags.boolean({ description: 'Print a JSON summary (counts and every task) and exit' }),
    watch: Flags.integer({
      description: 'Print the JSON summary (or, with --stream, the JSON lines) every N seconds until Ctrl-C',
      min: 1,
    }),
    'log-format': logFormatFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Dashboard);
    if (flags.stream || flags.json || flags.watch !== undefined) {
      await this.printViews(flags.config, { stream: flags.stream, watchSeconds: flags.watch });
      return;
    }
    const token = await readToken(flags['token-file']);
    const { checkBindPolicy, startDashboard } = loadDashboard();
    // Before anything starts: a public address without a token is refused in one line.
    checkBindPolicy(flags.host, token);
    // As for every command: the private stack or the workers are started when missing.
    const client = await this.openClient(flags.config);
    const redisUrl = this.clientRedisUrl;
    const { ProcessLog } = await lib();
    const log = new ProcessLog({ format: chooseLogFormat(flags['log-format'], client.config), component: 'dashboard' });
    // Listened for before the dashboard starts: a SIGTERM right after its URL is printed closes it.
    const { exitAfterShutdown, untilStopSignal } = await import('../../workers/shutdown.js');
    const signalled = untilStopSignal();
    const dashboard = await startDashboard({
      config: client.config,
      redisUrl,
      host: flags.host,
      port: flags.port,
      token,
      readOnly: flags['read-only'],
      log,
      verbose: this.verbose,
    });
    log.info(`dashboard on ${dashboard.url}/ (Bull Board at ${dashboard.url}/queues) — Ctrl-C stops it`, {
      event: 'listening',
      url: dashboard.url,
    });
    sayLoginUrl(log, dashboard.loginUrl);
    await signalled;
    await dashboard.close();
    exitAfterShutdown();
  }

  // The original tool's views: JSON lines, or a summary object, once or every N seconds.
  private async printViews(
    configFlag: string | undefined,
    options: { stream: boolean; watchSeconds?: number },
  ): Promise<void> {
    const client = await this.openClient(configFlag);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      for (;;) {
        const tasks = await allTasks(client);
        if (options.stream) process.stdout.write(tasks.map((task) => `${JSON.stringify(task)}\n`).join(''));
        else this.printJson(summaryOf(tasks));
        if (options.watchSeconds === undefined || stop.signal.aborted) return;
        await sleep(options.watchSeconds * 1000, stop.signal);
        if (stop.signal.aborted) return;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** `--token-file`, else $OPENCLAW_AGENT_DASHBOARD_TOKEN; undefined when neither gives one. */
async function readToken(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return process.env.OPENCLAW_AGENT_DASHBOARD_TOKEN?.trim() || undefined;
  const { UsageError } = await lib();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read the token file ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  const token = text.trim();
  if (token === '') throw new UsageError(`the token file ${file} is empty`);
  return token;
}

async function allTasks(client: TaskClient): Promise<Record<string, unknown>[]> {
  const { toTaskJson } = await lib();
  const { searchTasks } = await import('../../src/tasks/search.js');
  const out: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  const now = Date.now();
  do {
    const page = await searchTasks(client, { limit: 1000, cursor, scanLimit: 1000 });
    out.push(...page.views.map((view) => toTaskJson(view, now)));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return out;
}

function summaryOf(tasks: Record<string, unknown>[]): Record<string, unknown> {
  const count = (status: string) => tasks.filter((t) => t.status === status).length;
  return {
    timestamp: new Date().toISOString(),
    task_count: tasks.length,
    running: count('running'),
    completed: count('completed'),
    failed: count('failed'),
    tasks,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
