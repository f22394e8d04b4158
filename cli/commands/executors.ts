// `openclaw-agent executors`: the configured executors, as a table or as JSON.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { lib } from '../load-library.js';

export default class Executors extends BaseCommand {
  static override summary = 'List configured executors';
  static override flags = { json: Flags.boolean({ description: 'Print a JSON array' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Executors);
    const config = await this.loadConfig(flags.config);
    if (flags.json) {
      const { executorJson } = await lib();
      this.printJson(config.executors.map(executorJson));
      return;
    }
    const { formatExecutorTable } = await lib();
    this.log(formatExecutorTable(config.executors));
  }
}
