// `openclaw-agent resume`: a paused executor takes tasks again.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { lib } from '../load-library.js';

export default class Resume extends BaseCommand {
  static override summary = 'Resume a paused executor: it takes tasks again';
  static override examples = ['<%= config.bin %> resume --executor crib'];
  static override flags = { executor: Flags.string({ char: 'e', description: 'The executor to resume' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Resume);
    const { UsageError, requireExecutor } = await lib();
    if (flags.executor === undefined) throw new UsageError('missing --executor: the executor to resume');
    requireExecutor(await this.loadConfig(flags.config), flags.executor);
    const client = await this.openClient(flags.config);
    await client.setExecutorPaused(flags.executor, false);
    this.log(`Executor ${flags.executor} resumed.`);
  }
}
