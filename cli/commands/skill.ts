// `openclaw-agent skill`: prints the agent skill the package ships, or installs it for an agent.
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { lib } from '../load-library.js';

/** The skill shipped in the package, beside dist/ (this module runs from dist/cli). */
const SKILL_FILE = fileURLToPath(new URL('../../skills/openclaw-agent/SKILL.md', import.meta.url));
const SKILL_NAME = 'openclaw-agent';

/** Where each agent host reads its user's skills. */
const HOSTS = {
  // OpenClaw: managed skills in its state directory (OPENCLAW_STATE_DIR, default ~/.openclaw).
  openclaw: () => path.join(process.env.OPENCLAW_STATE_DIR || path.join(homedir(), '.openclaw'), 'skills'),
  // Claude Code: personal skills in its config directory (CLAUDE_CONFIG_DIR, default ~/.claude).
  claude: () => path.join(process.env.CLAUDE_CONFIG_DIR || path.join(homedir(), '.claude'), 'skills'),
};

export default class Skill extends BaseCommand {
  static override summary = 'Print the agent skill (SKILL.md), or install it for OpenClaw or Claude Code';
  static override description =
    'The skill teaches an agent to dispatch long work with openclaw-agent, end its turn and act when it is woken. ' +
    '`--install openclaw` writes ~/.openclaw/skills/openclaw-agent/SKILL.md, `--install claude` ~/.claude/skills/openclaw-agent/SKILL.md; ' +
    "`--dir DIR` writes DIR/openclaw-agent/SKILL.md (a workspace's skills folder, say).";
  static override examples = [
    '<%= config.bin %> skill',
    '<%= config.bin %> skill --install openclaw',
    '<%= config.bin %> skill --dir ~/project/.claude/skills',
  ];
  static override flags = {
    install: Flags.string({
      description: 'Install it where this agent host reads skills',
      options: Object.keys(HOSTS),
    }),
    dir: Flags.string({ description: 'Install it into this skills folder instead (as DIR/openclaw-agent/SKILL.md)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Skill);
    const text = await readFile(SKILL_FILE, 'utf8');
    if (flags.install === undefined && flags.dir === undefined) {
      process.stdout.write(text);
      return;
    }
    if (flags.install !== undefined && flags.dir !== undefined) {
      const { UsageError } = await lib();
      throw new UsageError('give either --install HOST or --dir DIR, not both');
    }
    const root =
      flags.dir !== undefined
        ? path.resolve(flags.dir.replace(/^~(?=$|\/)/, homedir()))
        : HOSTS[flags.install as keyof typeof HOSTS]();
    const file = path.join(root, SKILL_NAME, 'SKILL.md');
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text);
    } catch (error) {
      const { UsageError } = await lib();
      throw new UsageError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    process.stdout.write(`${file}\n`);
  }
}
