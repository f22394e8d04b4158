import { describe, expect, it } from 'vitest';
import { apiFieldName } from '../../src/api/contract.js';

describe('apiFieldName', () => {
  it('names a request field as a task body spells it, and leaves the caller’s own keys as they are', () => {
    expect(apiFieldName(['timeoutMs'])).toBe('timeout_ms');
    expect(apiFieldName(['runAt'])).toBe('at');
    expect(apiFieldName(['notifySession'])).toBe('notify_session');
    expect(apiFieldName(['payload', 'workingDir'])).toBe('payload.working_dir');
    expect(apiFieldName(['payload', 'args', 2])).toBe('payload.args[2]');
    expect(apiFieldName(['payload', 'env', 'myVar'])).toBe('payload.env.myVar');
    expect(apiFieldName(['worktree', 'base'])).toBe('worktree.base');
    expect(apiFieldName([])).toBeUndefined();
  });
});
