import { describe, expect, it } from 'vitest';
import type { EngineFrame } from '../../../src/executors/container/engine-frames.js';
import { LogReplay, OutputCursor } from '../../../src/executors/container/output-cursor.js';
import type { OutputChunk } from '../../../src/logs/log-stream.js';

const text = (chunks: OutputChunk[]) => chunks.map((c) => `${c.stream}:${c.text.toString()}`);
const at = (second: number, body: string, stream: 'stdout' | 'stderr' = 'stdout'): EngineFrame => ({
  stream,
  payload: Buffer.from(`2026-11-25T08:00:${String(second).padStart(2, '0')}Z ${body}`),
});

describe('OutputCursor', () => {
  it('holds back a character split across frames and counts only what it shipped', () => {
    const cursor = new OutputCursor({});
    const euro = Buffer.from('€');
    const chunks = cursor.takeFrames([
      { stream: 'stdout', payload: Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)]) },
      { stream: 'stderr', payload: Buffer.from('e1') },
    ]);
    expect(text(chunks)).toEqual(['stdout:a', 'stderr:e1']);
    expect(cursor.checkpoint()).toEqual({ stdout: '1', stderr: '2' });
    expect(cursor.consumed('stdout')).toBe(3);
    expect(
      text(cursor.takeFrames([{ stream: 'stdout', payload: Buffer.concat([euro.subarray(2), Buffer.from('b')]) }])),
    ).toEqual(['stdout:€b']);
    expect(cursor.checkpoint()).toEqual({ stdout: '5', stderr: '2' });
  });

  it('joins neighbouring frames of one stream into one chunk', () => {
    const cursor = new OutputCursor({});
    const frames: EngineFrame[] = ['a', 'b', 'c'].map((s) => ({ stream: 'stdout', payload: Buffer.from(s) }));
    expect(text(cursor.takeFrames(frames))).toEqual(['stdout:abc']);
  });
});

describe('LogReplay', () => {
  it('resumes from a checkpoint in the middle of a frame', () => {
    const cursor = new OutputCursor({ stdout: '8', stderr: '2' });
    const replay = new LogReplay(cursor);
    replay.beginRead();
    const chunks = replay.take([at(1, 'line1\n'), at(1, 'e1\n', 'stderr'), at(1, 'line2\n'), at(2, 'line3\n')]);
    expect(text(chunks)).toEqual(['stderr:\n', 'stdout:ne2\nline3\n']);
    expect(cursor.checkpoint()).toEqual({ stdout: '18', stderr: '3' });
  });

  it('starts the next read a second early and skips exactly the frames it has seen, also when many share a timestamp', () => {
    const cursor = new OutputCursor({});
    const replay = new LogReplay(cursor);
    replay.beginRead();
    expect(replay.since()).toBe(0);
    expect(text(replay.take([at(5, 'a\n'), at(6, 'b\n'), at(6, 'c\n')]))).toEqual(['stdout:a\nb\nc\n']);
    expect(replay.since()).toBe(Date.parse('2026-11-25T08:00:05Z') / 1000);
    // The engine answers `since` with everything from second 5 on, including frames already read.
    replay.beginRead();
    expect(text(replay.take([at(5, 'a\n'), at(6, 'b\n'), at(6, 'c\n'), at(6, 'd\n'), at(7, 'e\n')]))).toEqual([
      'stdout:d\ne\n',
    ]);
    replay.beginRead();
    expect(text(replay.take([at(6, 'b\n'), at(6, 'c\n'), at(6, 'd\n'), at(7, 'e\n')]))).toEqual([]);
    expect(cursor.checkpoint()).toEqual({ stdout: '10', stderr: '0' });
  });
});
