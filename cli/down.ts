import { BaseCommand } from './base-command.js';
import { lib } from './lib.js';

export default class Down extends BaseCommand {
  static override summary = 'Stop the private Redis and workers started in the background';

  async run(): Promise<void> {
    await this.parse(Down);
    const { stopBackgroundStack } = await lib();
    this.log((await stopBackgroundStack()) ? 'Stopped the private Redis and workers.' : 'No private stack is running.');
  }
}
