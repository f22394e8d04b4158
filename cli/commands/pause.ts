// `openclaw-agent pause`: an executor takes no new tasks until resumed; running ones go on.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { lib, taskControl } from '../load-library.js';

export default class Pause extends BaseCommand {
  static override summary = 'Pause an executor: it starts no new tasks until resumed (running ones go on)';
  static override examples = [
    '<%= config.bin %> pause --executor crib',
    '<%= config.bin %> pause --executor crib --wait   # returns when none of its tasks runs',
  ];
  static override flags = {
    executor: Flags.string({ char: 'e', description: 'The executor to pause' }),
    wait: Flags.boolean({ description: 'Return only when none of its tasks runs any more' }),
    timeout: Flags.string({ description: 'With --wait: give up after this long (exit 124)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Pause);
    const { UsageError, requireDuration, requireExecutor } = await lib();
    if (flags.executor === undefined) throw new UsageError('missing --executor: the executor to pause');
    if (flags.timeout !== undefined && !flags.wait)
      throw new UsageError('--timeout limits --wait: give --wait too, or drop --timeout');
    const timeoutMs = flags.timeout === undefined ? undefined : requireDuration('--timeout', flags.timeout);
    requireExecutor(await this.loadConfig(flags.config), flags.executor);
    const client = await this.openClient(flags.config);
    await client.setExecutorPaused(flags.executor, true);
    const running = await client.queue(flags.executor).getActiveCount();
    this.log(
      `Executor ${flags.executor} paused: it starts no new tasks (${running} running go on); \`openclaw-agent resume --executor ${flags.executor}\` undoes it.`,
    );
    if (!flags.wait || running === 0) return;
    const { waitForIdleExecutor } = await taskControl();
    await waitForIdleExecutor(client, flags.executor, { timeoutMs });
    this.log(`No task of executor ${flags.executor} runs now.`);
  }
}
