// `openclaw-agent executors`: the configured executors, as a table or as JSON, with their live workers.
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { lib } from '../load-library.js';
import type { ExecutorService, LoadedConfig } from '../../src/index.js';

export default class Executors extends BaseCommand {
  static override summary = 'List configured executors and the workers serving them';
  static override flags = { json: Flags.boolean({ description: 'Print a JSON array' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Executors);
    const config = await this.loadConfig(flags.config);
    // Pauses and workers are kept in Redis; without one reachable, the config alone is shown.
    const live = await this.liveState(config);
    if (flags.json) {
      const { executorJson, executorServiceJson } = await lib();
      this.printJson(
        config.executors.map((e) => {
          const service = live?.services.get(e.name);
          return {
            ...executorJson(e),
            paused: live?.paused.has(e.name) ?? null,
            ...(service ? executorServiceJson(service) : { workers: null, served: null, last_served_at: null }),
          };
        }),
      );
      return;
    }
    const { formatExecutorTable } = await lib();
    this.log(formatExecutorTable(config.executors, live?.paused, live?.services));
  }

  // Paused executors and live workers, or undefined when Redis does not answer at once (the list
  // needs no Redis). The Redis other commands use, a running private stack's among them; a read
  // starts none.
  private async liveState(
    config: LoadedConfig,
  ): Promise<{ paused: Set<string>; services: Map<string, ExecutorService> } | undefined> {
    const { TaskClient, findCommandRedis } = await lib();
    try {
      const url = await findCommandRedis(config);
      if (url === undefined) return undefined;
      const client = await TaskClient.connect(config, url);
      try {
        const names = config.executors.map((e) => e.name);
        const [paused, services] = await Promise.all([client.pausedExecutors(names), client.executorWorkers(names)]);
        return { paused, services };
      } finally {
        await client.close();
      }
    } catch {
      return undefined;
    }
  }
}
