// `openclaw-agent worker`: runs a worker for one executor's queue in this process.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { chooseLogFormat, logFormatFlag } from '../log-format-flag.js';

export default class Worker extends BaseCommand {
  static override summary = "Run a worker that executes one executor's tasks";
  static override description =
    "Consumes the executor's queue until SIGTERM or SIGINT. On shutdown it stops taking tasks and leaves running ones running: the next worker re-attaches to them.";
  static override examples = [
    '<%= config.bin %> worker --executor local --concurrency 4',
    '<%= config.bin %> worker --executor local --log-format json',
  ];
  static override flags = {
    executor: Flags.string({ char: 'e', description: 'Executor whose queue to consume', required: true }),
    concurrency: Flags.integer({ description: "Tasks run at once (default: the executor's concurrency)", min: 1 }),
    'log-format': logFormatFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Worker);
    const config = await this.loadConfig(flags.config);
    const { runWorkerProcess } = await import('../../workers/executor-worker.js');
    await runWorkerProcess({
      config,
      executor: flags.executor,
      concurrency: flags.concurrency,
      redisUrl: (await this.redisUrl(config)).url,
      logFormat: chooseLogFormat(flags['log-format'], config),
      verbose: this.verbose,
    });
  }
}
