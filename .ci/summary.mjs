// Prints the suite's totals as one plain line per run ("vitest: N passed, N failed, N skipped")
// from the JSON reports that vitest writes next to its console output: the whole suite on the
// machine's Node, then the core files on Node 24 (.ci/node24.mjs) when they ran.
import { existsSync, readFileSync } from 'node:fs';

for (const [label, file] of [
  ['vitest', '../test-output/vitest.json'],
  ['vitest on Node 24', '../test-output/vitest-node24.json'],
]) {
  const url = new URL(file, import.meta.url);
  if (!existsSync(url)) continue;
  const report = JSON.parse(readFileSync(url, 'utf8'));
  console.log(
    `${label}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped`,
  );
}
