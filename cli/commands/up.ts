// `openclaw-agent up`: runs the private Redis (unless --redis-url), a worker per executor and the
// dashboard in the foreground, or in the background when another command starts it.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { loadDashboard } from '../side-bundles.js';
import { chooseLogFormat, logFormatFlag, sayLoginUrl } from '../log-format-flag.js';
import { lib } from '../load-library.js';

export default class Up extends BaseCommand {
  static override summary = 'Run a private Redis and the workers for the configured executors, in the foreground';
  static override description =
    'Needs a redis-server binary. Data (AOF) and the generated password live in the data directory ($OPENCLAW_AGENT_HOME). Ctrl-C stops everything cleanly; running tasks keep running and are re-attached on the next start. Other commands start this in the background on their own when no Redis is reachable.';
  static override flags = {
    background: Flags.boolean({
      hidden: true,
      description: 'Started by another command; output goes to the stack log',
    }),
    'redis-url': Flags.string({ description: 'Run only the workers, against this Redis, instead of a private one' }),
    dashboard: Flags.boolean({
      description: 'Serve the dashboard beside the workers (on 127.0.0.1)',
      default: true,
      allowNo: true,
    }),
    'dashboard-port': Flags.integer({ description: 'Dashboard port', default: 3000, min: 0, max: 65535 }),
    'log-format': logFormatFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Up);
    const config = await this.loadConfig(flags.config);
    const { runStackProcess } = await import('../../workers/stack-process.js');
    const { exitAfterShutdown } = await import('../../workers/shutdown.js');
    const { ProcessLog } = await import('../../src/text/process-log.js');
    const log = new ProcessLog({ format: chooseLogFormat(flags['log-format'], config), component: 'up' });
    const say = (line: string) => log.info(line);
    // The dashboard runs with a foreground `up` only: a stack started in the background by
    // another command does not take a port on its own.
    const withDashboard = flags.dashboard && !flags.background;
    try {
      await runStackProcess({
        config,
        background: flags.background,
        externalRedis: flags['redis-url'],
        say,
        log,
        verbose: this.verbose,
        services: withDashboard
          ? async (redisUrl) => {
              const { startDashboard } = loadDashboard();
              const dashboard = await startDashboard({
                config,
                redisUrl,
                port: flags['dashboard-port'],
                token: process.env.OPENCLAW_AGENT_DASHBOARD_TOKEN,
                log: log.child('dashboard'),
                verbose: this.verbose,
              });
              say(`dashboard on ${dashboard.url}/ (Bull Board at ${dashboard.url}/queues)`);
              sayLoginUrl(log, dashboard.loginUrl);
              return dashboard;
            }
          : undefined,
      });
    } catch (error) {
      // The stack did not start (no Redis to use, no worker, one already running): one line and
      // the error's exit code, after the stack has stopped what it started and removed its state
      // file. A JSON log gets it as an `error` record, a text log as every command's error line.
      if (log.format === 'json') {
        const { describeError, exitCodeFor, isUserFacingError } = await lib();
        log.error(describeError(error), {
          event: 'start_failed',
          code: isUserFacingError(error) ? error.code : undefined,
          ...(this.verbose && error instanceof Error ? { stack: error.stack } : {}),
        });
        process.exitCode = exitCodeFor(error);
      } else await this.catch(error as Error);
    }
    exitAfterShutdown();
  }
}
