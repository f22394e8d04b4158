import { Flags } from '@oclif/core';
import { BaseCommand } from './base-command.js';
import { lib } from './lib.js';

export default class Executors extends BaseCommand {
  static override summary = 'List configured executors';
  static override flags = { json: Flags.boolean({ description: 'Print a JSON array' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Executors);
    const config = await this.loadConfig(flags.config);
    if (flags.json) {
      // The original tool's fields first; env shows keys only.
      this.printJson(
        config.executors.map((e) => ({
          name: e.name,
          type: e.type,
          host: e.host ?? null,
          labels: e.labels,
          port: e.type === 'ssh' ? e.port : null,
          user: e.user ?? null,
          image: e.image ?? null,
          runtime: e.type === 'container' ? e.runtime : null,
          concurrency: e.concurrency,
          env_keys: Object.keys(e.env),
        })),
      );
      return;
    }
    const { formatExecutorTable } = await lib();
    this.log(formatExecutorTable(config.executors));
  }
}
