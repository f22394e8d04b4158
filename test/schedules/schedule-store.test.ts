import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSchedule, buildShellPayload, getSchedule, listSchedules, type TaskClient } from '../../src/index.js';
import { createHarness, type Harness } from '../helpers/harness.js';

// What a schedule shows of its task, against real Redis (no worker: its ticks are far off).

describe('a schedule’s summary', () => {
  let h: Harness;
  let client: TaskClient;

  beforeAll(async () => {
    h = createHarness();
    client = await h.client();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('shows its command as `list` and `status` show the same task: a lone argv word as itself, words quoted', async () => {
    const cases: [string, Parameters<typeof buildShellPayload>[0], string][] = [
      ['lone', { argv: ['true'] }, 'true'],
      ['spaced', { argv: ['printf', '%s\n', 'a b'] }, "printf '%s\n' 'a b'"],
      ['quoted', { argv: ["it's", 'x'] }, `'it'\\''s' x`],
      ['string', { cmd: 'echo hi && true' }, 'echo hi && true'],
    ];
    for (const [name, shell, shown] of cases) {
      const task = { executor: 'local', payload: buildShellPayload(shell) };
      const added = await addSchedule(client, { name, cron: '0 0 1 1 *', task });
      const { id } = await client.enqueue(task);
      const listed = (await client.get(id)).record.summary;
      expect(listed, name).toBe(shown);
      expect(added.summary, name).toBe(listed);
      expect((await getSchedule(client, name))?.summary, name).toBe(listed);
    }
    expect((await listSchedules(client)).map((view) => [view.name, view.summary])).toEqual(
      cases.map(([name, , shown]) => [name, shown]).sort(([a], [b]) => a!.localeCompare(b!)),
    );
  });

  it('shows a Claude task’s prompt', async () => {
    const payload = { type: 'claude_code' as const, prompt: 'Review open PRs', workspace: h.dir };
    const added = await addSchedule(client, {
      name: 'review',
      cron: '0 9 * * 1-5',
      task: { executor: 'local', payload },
    });
    expect(added).toMatchObject({ summary: 'Review open PRs', taskType: 'claude_code' });
  });
});
