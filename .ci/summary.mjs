// Prints the suite's totals as one plain line ("vitest: N passed, N failed, N skipped") from the
// JSON report that vitest writes next to its console output.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(new URL('../test-output/vitest.json', import.meta.url), 'utf8'));
console.log(
  `vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped`,
);
