import { describe, expect, it } from 'vitest';
import { deriveTaskStatus } from '../../src/index.js';

describe('deriveTaskStatus', () => {
  it('maps BullMQ states when no outcome is recorded', () => {
    expect(deriveTaskStatus('waiting', {})).toBe('queued');
    expect(deriveTaskStatus('delayed', {})).toBe('queued');
    expect(deriveTaskStatus('prioritized', {})).toBe('queued');
    expect(deriveTaskStatus('active', {})).toBe('running');
    expect(deriveTaskStatus('completed', {})).toBe('completed');
    expect(deriveTaskStatus('failed', {})).toBe('failed');
    expect(deriveTaskStatus(undefined, {})).toBe('lost');
  });

  it('calls a stalled job whose process started running, not queued', () => {
    expect(deriveTaskStatus('waiting', { attemptStartedAt: 1 })).toBe('running');
  });

  it('lets the recorded outcome win over the job state', () => {
    expect(deriveTaskStatus('active', { outcome: 'completed' })).toBe('completed');
    expect(deriveTaskStatus('failed', { outcome: 'lost' })).toBe('lost');
    expect(deriveTaskStatus(undefined, { outcome: 'cancelled' })).toBe('cancelled');
  });
});
