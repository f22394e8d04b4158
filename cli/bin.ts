#!/usr/bin/env node
import { execute } from '@oclif/core';
import { hoistGlobalFlags } from './global-flags.js';

// The original tool took `-c/--config` and `-v/--verbose` before the subcommand; they still work.
await execute({ args: hoistGlobalFlags(process.argv.slice(2), process.env), dir: import.meta.url });
