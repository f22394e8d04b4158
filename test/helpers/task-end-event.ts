import type { TaskEndEvent } from '../../src/index.js';

/** A failed shell task's end as notifiers are told of it, with `fields` changed. */
export function taskEndEvent(fields: Partial<TaskEndEvent> = {}): TaskEndEvent {
  return {
    id: '7f3c1a2b-9d4e-4f00-8a11-2b3c4d5e6f70',
    name: 'workspace tests',
    summary: 'cargo test --workspace',
    task_type: 'shell_command',
    executor: 'crib',
    status: 'failed',
    exit_code: 101,
    signal: null,
    duration_ms: 252_000,
    cost_usd: null,
    finished_at: '2026-12-06T03:00:00.000Z',
    ...fields,
  };
}
