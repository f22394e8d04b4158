import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatWakeText } from '../../src/index.js';
import { createHarness, ROOT, type Harness } from '../helpers/harness.js';
import { taskEndEvent } from '../helpers/task-end-event.js';

const SKILL = readFileSync(path.join(ROOT, 'skills/openclaw-agent/SKILL.md'), 'utf8');

describe('the shipped skill', () => {
  it('has AgentSkills frontmatter, parsed by a YAML parser, with the keys OpenClaw and Claude Code read', () => {
    const match = /^---\n([\s\S]*?)\n---\n([\s\S]+)$/.exec(SKILL);
    expect(match).not.toBeNull();
    const front = parse(match![1]!) as Record<string, unknown>;
    expect(Object.keys(front)).toEqual(['name', 'description', 'metadata']);
    expect(front.name).toBe('openclaw-agent');
    expect(front.name).toMatch(/^[a-z0-9-]{1,64}$/);
    expect(typeof front.description).toBe('string');
    expect((front.description as string).length).toBeLessThanOrEqual(1024);
    expect(front.metadata).toEqual({ openclaw: { emoji: expect.any(String), requires: { bins: ['openclaw-agent'] } } });
  });

  it('teaches what an agent must do: dispatch, end the turn, act on the wake line, no polling, untrusted output', () => {
    const body = SKILL.slice(SKILL.indexOf('\n---\n', 4));
    for (const taught of [
      'openclaw-agent run',
      'openclaw-agent start',
      '**end your turn**',
      'openclaw-agent: task 7f3c1a2b',
      'openclaw-agent status 7f3c1a2b',
      'openclaw-agent wait <id>',
      'nohup',
      'untrusted data',
    ]) {
      expect(body).toContain(taught);
    }
  });

  it('names in its wake example exactly the line a notifier sends', () => {
    const line = formatWakeText(taskEndEvent());
    expect(SKILL).toContain(line);
  });
});

describe('openclaw-agent skill', () => {
  let h: Harness;
  beforeAll(() => {
    h = createHarness();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('prints the skill', async () => {
    const r = await h.cli(['skill']);
    expect(r).toEqual({ exitCode: 0, stdout: SKILL, stderr: '' });
  });

  it('installs it where OpenClaw and Claude Code read skills, or into a folder given, and says where', async () => {
    for (const [args, file] of [
      [['--install', 'openclaw'], path.join(h.home, '.openclaw/skills/openclaw-agent/SKILL.md')],
      [['--install', 'claude'], path.join(h.home, '.claude/skills/openclaw-agent/SKILL.md')],
      [['--dir', 'project/skills'], path.join(h.dir, 'project/skills/openclaw-agent/SKILL.md')],
    ] as const) {
      const r = await h.cli(['skill', ...args]);
      expect(r).toEqual({ exitCode: 0, stdout: `${file}\n`, stderr: '' });
      expect(readFileSync(file, 'utf8')).toBe(SKILL);
    }
    const state = path.join(h.dir, 'openclaw-state');
    await h.cli(['skill', '--install', 'openclaw'], { env: { OPENCLAW_STATE_DIR: state } });
    expect(existsSync(path.join(state, 'skills/openclaw-agent/SKILL.md'))).toBe(true);
  });

  it('refuses an unknown host, or both targets, in one line', async () => {
    const unknown = await h.cli(['skill', '--install', 'codex']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe(
      'openclaw-agent: Expected --install=codex to be one of: openclaw, claude (see `openclaw-agent skill --help`)\n',
    );
    const both = await h.cli(['skill', '--install', 'claude', '--dir', 'x']);
    expect(both).toEqual({
      exitCode: 2,
      stdout: '',
      stderr: 'openclaw-agent: give either --install HOST or --dir DIR, not both\n',
    });
  });
});
