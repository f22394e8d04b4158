import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';
import { argvFor, COMMAND_NAMES, KNOWN_ID } from './cli-args.js';
import { checkRun } from './cli-contract.js';
import { expectOneLine, fuzzParameters, junkText, nearDuration } from './fuzz-support.js';
import { runCliInProcess } from './in-process-cli.js';

describe('CLI flag fuzz: every rejection is one line, a non-zero exit and nothing enqueued', () => {
  let h: Harness;

  beforeAll(async () => {
    // `idle` has no worker: accepted tasks stay queued, and are deleted after each case.
    h = createHarness({
      extraExecutors: '  - name: idle\n    type: local\n    labels: [gpu]\n',
      extraConfig: 'notifiers:\n  desk: {type: command, argv: ["true"]}\n',
    });
    const client = await h.client();
    await client.enqueue({
      id: KNOWN_ID,
      executor: 'idle',
      payload: { type: 'shell_command', command: 'true', args: [], env: {} },
    });
  });
  afterAll(async () => {
    await h.cleanup();
  });

  for (const [index, command] of COMMAND_NAMES.entries()) {
    it(`${command}: arbitrary flags and values in process (the built bundle's main)`, async () => {
      const tally = { refused: 0, accepted: 0 };
      await fc.assert(
        fc.asyncProperty(argvFor(command), (argv) => checkRun(h, argv, (a) => runCliInProcess(a, h.env), tally)),
        fuzzParameters(200 + index, 500),
      );
      // The property saw both sides (a generator that only produced rejections would prove little).
      expect(tally.refused).toBeGreaterThan(50);
      if (command !== 'wait') expect(tally.accepted).toBeGreaterThan(5);
    });
  }

  it('shows a flag value with a line break escaped on the one line, not cut at the break', async () => {
    await fc.assert(
      fc.asyncProperty(
        nearDuration.filter((d) => !d.startsWith('-')),
        junkText(8),
        fc.constantFrom('--timeout', '--backoff'),
        async (head, tail, name) => {
          const value = `${head}x\n${tail}`;
          const r = await runCliInProcess(['run', '-e', 'idle', `${name}=${value}`, '-c', 'true'], h.env);
          expect(r.exitCode).toBe(2);
          expectOneLine(r.stderr.slice(0, -1), 'stderr');
          expect(r.stderr).toContain(`x\\n`);
        },
      ),
      fuzzParameters(210, 200),
    );
  });
});
