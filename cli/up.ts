import { Flags } from '@oclif/core';
import { BaseCommand } from './base-command.js';

export default class Up extends BaseCommand {
  static override summary = 'Run a private Redis and the workers for the configured executors, in the foreground';
  static override description =
    'Needs a redis-server binary. Data (AOF) and the generated password live in the data directory ($OPENCLAW_AGENT_HOME). Ctrl-C stops everything cleanly; running tasks keep running and are re-attached on the next start. Other commands start this in the background on their own when no Redis is reachable.';
  static override flags = {
    background: Flags.boolean({ hidden: true, description: 'Started by another command; output goes to the stack log' }),
    'redis-url': Flags.string({ description: 'Run only the workers, against this Redis, instead of a private one' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Up);
    const config = await this.loadConfig(flags.config);
    const { runStackProcess } = await import('../workers/stack-process.js');
    await runStackProcess({ config, background: flags.background, externalRedis: flags['redis-url'], say: (line) => process.stderr.write(`[openclaw-agent up] ${line}\n`) });
  }
}
