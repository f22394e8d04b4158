import { describe, expect, it } from 'vitest';
import { parseLogFormat, ProcessLog } from '../../src/text/process-log.js';

function capture(format: 'text' | 'json', executor?: string) {
  const lines: string[] = [];
  const log = new ProcessLog({
    format,
    component: 'worker',
    executor,
    write: (line) => lines.push(line),
    now: () => new Date('2026-12-06T12:00:00.000Z'),
  });
  return { log, lines };
}

describe('ProcessLog', () => {
  it('writes text lines with the component and executor, one line whatever the message holds', () => {
    const { log, lines } = capture('text', 'local');
    log.warn('worker: bad\nreply', { event: 'error' });
    log.child('dashboard').info('dashboard on http://127.0.0.1:3000/');
    expect(lines).toEqual([
      '[openclaw-agent worker local] worker: bad\\nreply\n',
      '[openclaw-agent dashboard] dashboard on http://127.0.0.1:3000/\n',
    ]);
  });

  it('writes one JSON object a line with time, level, component, executor, msg and the fields', () => {
    const { log, lines } = capture('json', 'local');
    log.error('Redis at 127.0.0.1:6390 is unreachable', { event: 'redis_down', redis: '127.0.0.1:6390', msg: 'x' });
    log.child('dashboard').info('back', { down_for_ms: 62_000 });
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        time: '2026-12-06T12:00:00.000Z',
        level: 'error',
        component: 'worker',
        executor: 'local',
        msg: 'Redis at 127.0.0.1:6390 is unreachable',
        event: 'redis_down',
        redis: '127.0.0.1:6390',
      },
      { time: '2026-12-06T12:00:00.000Z', level: 'info', component: 'dashboard', msg: 'back', down_for_ms: 62_000 },
    ]);
    expect(lines.every((line) => line.endsWith('}\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
  });

  it('prints a stack trace (given with --verbose only) after its text line', () => {
    const { log, lines } = capture('text');
    log.warn('worker: boom', { stack: 'Error: boom\n    at here' });
    expect(lines).toEqual(['[openclaw-agent worker] worker: boom\nError: boom\n    at here\n']);
  });

  it('takes text and json as formats, nothing else', () => {
    expect([parseLogFormat('text'), parseLogFormat('json'), parseLogFormat('yaml')]).toEqual([
      'text',
      'json',
      undefined,
    ]);
  });
});
