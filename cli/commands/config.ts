// `openclaw-agent config`: the config's path, executors and notifiers, or a sample written there.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { lib } from '../load-library.js';

export default class Config extends BaseCommand {
  static override summary = 'Show the config file, print its path, or write a sample';
  static override flags = {
    path: Flags.boolean({ description: 'Print the config path and exit' }),
    init: Flags.boolean({ description: 'Write a sample config if none exists' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Config);
    const { resolveConfigPath, SAMPLE_CONFIG } = await lib();
    const file = resolveConfigPath(flags.config).path;
    if (flags.path) {
      this.log(file);
      return;
    }
    if (flags.init) {
      if (existsSync(file)) {
        this.log(`Config already exists at: ${file}\nRemove it first if you want to reinitialize.`);
        return;
      }
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, SAMPLE_CONFIG, { flag: 'wx' });
      this.log(`Sample config written to: ${file}`);
      return;
    }
    this.log(`Config path: ${file}`);
    if (!existsSync(file)) {
      this.log(
        'Status:      not found (using one executor named "local")\nRun `openclaw-agent config --init` to create one.',
      );
      return;
    }
    const config = await this.loadConfig(flags.config);
    this.log(`Executors:   ${config.executors.length}`);
    for (const e of config.executors) this.log(`  - ${e.name} (${e.type})`);
    const notifiers = Object.entries(config.notifiers);
    if (notifiers.length > 0) {
      const { notifierTarget } = await lib();
      this.log(
        `Notifiers:   ${notifiers.length}${config.defaults.notify.length > 0 ? ` (every task: ${config.defaults.notify.join(', ')})` : ''}`,
      );
      for (const [name, n] of notifiers) this.log(`  - ${name} (${n.type} ${notifierTarget(n)})`);
    }
  }
}
