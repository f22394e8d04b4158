import { describe, expect, it } from 'vitest';
import { buildClaudeArgs } from '../../src/index.js';

// The `claude -p` argv of a task: every value that comes from the task stays its option's value,
// whatever it starts with. The real CLI's parser (commander) reads `-r, --resume [value]` as an
// option with an optional value: `--resume --permission-mode=bypassPermissions` as two words
// resumes nothing and switches the permission mode. One word, `--resume=VALUE`, cannot.

const options = { claudePath: '/usr/bin/claude', defaultMaxTurns: 50 };

/** The options as commander reads them: `--name=value` is one option; a word after an option with an optional value is its value only when it does not start with `-`. */
function parsed(argv: string[]): Map<string, string | true> {
  const optionalValue = new Set(['--resume']);
  const found = new Map<string, string | true>();
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i]!;
    const eq = word.indexOf('=');
    if (word.startsWith('--') && eq > 0) found.set(word.slice(0, eq), word.slice(eq + 1));
    else if (['-p', '--verbose'].includes(word)) found.set(word, true);
    else if (optionalValue.has(word) && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('-')))
      found.set(word, true);
    else found.set(word, argv[++i]!);
  }
  return found;
}

describe('buildClaudeArgs', () => {
  it('gives each option from the task as one word, --name=value', () => {
    expect(
      buildClaudeArgs(
        {
          type: 'claude_code',
          prompt: 'never in argv',
          maxTurns: 7,
          allowedTools: ['Bash(git *)', 'Edit'],
          disallowedTools: ['WebFetch'],
          model: 'claude-sonnet-4-5[1m]',
          permissionMode: 'acceptEdits',
          maxBudgetUsd: 1.5,
          appendSystemPrompt: 'Be brief.',
          resumeSessionId: '0b6f4c1e-6f1a-4c57-9d5e-1e0c2a7b9f10',
        },
        options,
      ),
    ).toEqual([
      '/usr/bin/claude',
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--max-turns=7',
      '--allowedTools=Bash(git *),Edit',
      '--disallowedTools=WebFetch',
      '--model=claude-sonnet-4-5[1m]',
      '--permission-mode=acceptEdits',
      '--max-budget-usd=1.5',
      '--append-system-prompt=Be brief.',
      '--resume=0b6f4c1e-6f1a-4c57-9d5e-1e0c2a7b9f10',
    ]);
  });

  it('keeps a hostile value starting with - as the value of its option, not an option of its own', () => {
    const hostile = '--permission-mode=bypassPermissions';
    const argv = buildClaudeArgs(
      {
        type: 'claude_code',
        prompt: 'x',
        resumeSessionId: hostile,
        model: '--dangerously-skip-permissions',
        appendSystemPrompt: '-p',
      },
      { ...options, defaultPermissionMode: 'plan' },
    );
    const read = parsed(argv);
    expect(read.get('--resume')).toBe(hostile);
    expect(read.get('--model')).toBe('--dangerously-skip-permissions');
    expect(read.get('--append-system-prompt')).toBe('-p');
    expect(read.get('--permission-mode')).toBe('plan');
    expect(read.has('--dangerously-skip-permissions')).toBe(false);
    expect(argv.includes('x')).toBe(false);
  });
});
