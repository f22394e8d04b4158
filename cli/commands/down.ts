// `openclaw-agent down`: stops the private Redis and the workers that run in the background.
import { BaseCommand } from '../base-command.js';
import { lib } from '../load-library.js';

export default class Down extends BaseCommand {
  static override summary = 'Stop the private Redis and workers started in the background';

  async run(): Promise<void> {
    await this.parse(Down);
    const { stopPrivateStack } = await lib();
    const stopped = await stopPrivateStack();
    const said = {
      'redis-and-workers': 'Stopped the private Redis and workers.',
      workers: 'Stopped the background workers.',
    } as const;
    this.log(stopped ? said[stopped] : 'No private stack is running.');
  }
}
