// `openclaw-agent executors`: the configured executors, as a table or as JSON.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { lib } from '../load-library.js';
import type { LoadedConfig } from '../../src/index.js';

export default class Executors extends BaseCommand {
  static override summary = 'List configured executors';
  static override flags = { json: Flags.boolean({ description: 'Print a JSON array' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Executors);
    const config = await this.loadConfig(flags.config);
    // Whether each is paused is kept in Redis; without one reachable, the config alone is shown.
    const paused = await this.pausedExecutors(config);
    if (flags.json) {
      const { executorJson } = await lib();
      this.printJson(config.executors.map((e) => ({ ...executorJson(e), paused: paused?.has(e.name) ?? null })));
      return;
    }
    const { formatExecutorTable } = await lib();
    this.log(formatExecutorTable(config.executors, paused));
  }

  // The paused executors, or undefined when Redis does not answer at once (the list needs no Redis).
  private async pausedExecutors(config: LoadedConfig): Promise<Set<string> | undefined> {
    const { TaskClient, resolveRedisUrl } = await lib();
    try {
      const client = await TaskClient.connect(config, resolveRedisUrl(config.redis.url));
      try {
        return await client.pausedExecutors(config.executors.map((e) => e.name));
      } finally {
        await client.close();
      }
    } catch {
      return undefined;
    }
  }
}
