import { describe, expect, it } from 'vitest';
import { mcpArgumentName } from '../../src/mcp/task-args.js';

describe('mcpArgumentName', () => {
  it('names a request field as the tools’ arguments spell it, payload and worktree fields unprefixed', () => {
    expect(mcpArgumentName(['timeoutMs'])).toBe('timeout');
    expect(mcpArgumentName(['limitWaits'])).toBe('limit_waits');
    expect(mcpArgumentName(['after'])).toBe('after');
    expect(mcpArgumentName(['payload', 'workingDir'])).toBe('workdir');
    expect(mcpArgumentName(['payload', 'args', 1])).toBe('argv[1]');
    expect(mcpArgumentName(['payload', 'maxTurns'])).toBe('max_turns');
    expect(mcpArgumentName(['payload', 'env', 'myVar'])).toBe('env.myVar');
    expect(mcpArgumentName(['worktree', 'base'])).toBe('base');
    expect(mcpArgumentName(['payload'])).toBe('payload');
    expect(mcpArgumentName([])).toBeUndefined();
  });
});
