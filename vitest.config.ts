import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/warnings.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel processes; each has its own Redis prefix and temp directory.
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});
