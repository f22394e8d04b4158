import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';
import { anyArgv, argvFor, KNOWN_ID } from './cli-args.js';
import { checkRun, type Tally } from './cli-contract.js';
import { fuzzParameters, junkText } from './fuzz-support.js';

// Three private worlds (config, prefix, home), so that three real processes can run at once and
// each case's "nothing written to Redis" check sees only its own process.
const SLOTS = 3;
// Each case starts three CLI processes: a few hundred ms each on a 2-vCPU VM, more under load.

describe('CLI flag fuzz in real processes (dist/cli/bin.cjs): one line, non-zero exit, nothing enqueued', () => {
  const worlds: Harness[] = [];

  beforeAll(async () => {
    for (let i = 0; i < SLOTS; i++) {
      const h = createHarness({
        extraExecutors: '  - name: idle\n    type: local\n    labels: [gpu]\n',
        extraConfig: 'notifiers:\n  desk: {type: command, argv: ["true"]}\n',
      });
      worlds.push(h);
      const client = await h.client();
      await client.enqueue({
        id: KNOWN_ID,
        executor: 'idle',
        payload: { type: 'shell_command', command: 'true', args: [], env: {} },
      });
    }
  });
  afterAll(async () => {
    await Promise.all(worlds.map((h) => h.cleanup()));
  });

  it('any command with arbitrary flags and values', async () => {
    const tally: Tally = { refused: 0, accepted: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(anyArgv, { minLength: SLOTS, maxLength: SLOTS }), async (batch) => {
        await Promise.all(batch.map((argv, i) => checkRun(worlds[i]!, argv, (a) => worlds[i]!.cli(a), tally)));
      }),
      fuzzParameters(220, 60),
    );
    expect(tally.refused).toBeGreaterThan(30);
    expect(tally.accepted).toBeGreaterThan(5);
  }, 240_000);

  it('`start --prompt -` with arbitrary text on stdin', async () => {
    const tally: Tally = { refused: 0, accepted: 0 };
    const startArgv = argvFor('start').map((argv) => [
      ...argv.filter((word) => word !== '--prompt' && word !== '-p'),
      '--prompt',
      '-',
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(junkText(200), startArgv), { minLength: SLOTS, maxLength: SLOTS }),
        async (batch) => {
          await Promise.all(
            batch.map(([input, argv], i) => checkRun(worlds[i]!, argv, (a) => worlds[i]!.cli(a, { input }), tally)),
          );
        },
      ),
      fuzzParameters(230, 20),
    );
    expect(tally.refused).toBeGreaterThan(5);
    expect(tally.accepted).toBeGreaterThan(2);
  }, 240_000);
});
