#!/usr/bin/env node
// CommonJS, so that Node does not set up its ES module loader for the one file it runs.
import fs = require('node:fs');
import path = require('node:path');
import loader = require('./bundle-loader.cjs');

// The whole CLI (oclif, commands, library, dependencies) is one bundle built by `npm run build`;
// loading it with its code cache is what keeps a command's start-up short.
const bundle = path.join(__dirname, 'openclaw-agent.cjs');
if (!fs.existsSync(bundle)) {
  process.stderr.write(`openclaw-agent: ${bundle} is missing — run \`npm run build\` first\n`);
  process.exitCode = 1;
} else {
  void loader.loadBundle(bundle).exports.main(process.argv.slice(2), bundle);
}
