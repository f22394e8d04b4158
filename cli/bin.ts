#!/usr/bin/env node
import { execute } from '@oclif/core';
import { COMMANDS } from './commands.js';
import { hoistGlobalFlags } from './global-flags.js';

// The original tool took `-c/--config` and `-v/--verbose` before the subcommand; they still work.
const args = hoistGlobalFlags(process.argv.slice(2), process.env);
const first = args[0];
if (first !== undefined && !first.startsWith('-') && first !== 'help' && !Object.hasOwn(COMMANDS, first)) {
  process.stderr.write(`openclaw-agent: unknown command "${first}" — commands: ${Object.keys(COMMANDS).sort().join(', ')}\n`);
  process.exitCode = 2;
} else {
  await execute({ args, dir: import.meta.url });
}
