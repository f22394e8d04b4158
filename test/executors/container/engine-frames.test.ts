import { describe, expect, it } from 'vitest';
import { FrameDemuxer, splitTimestamp, timestampNanos } from '../../../src/executors/container/engine-frames.js';

function frame(type: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('FrameDemuxer', () => {
  it('splits a multiplexed stream into stdout and stderr frames wherever the chunks end', () => {
    const stream = Buffer.concat([
      frame(1, 'out one\n'),
      frame(2, 'err\n'),
      frame(1, ''),
      frame(0, 'stdin is stdout'),
      frame(1, 'ü'.repeat(40)),
    ]);
    for (const cuts of [[], [3], [8, 9, 21], Array.from({ length: stream.length - 1 }, (_, i) => i + 1)]) {
      const demuxer = new FrameDemuxer();
      const frames = [0, ...cuts, stream.length]
        .slice(1)
        .flatMap((end, i, ends) => demuxer.push(stream.subarray(i === 0 ? 0 : ends[i - 1], end)));
      expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
        ['stdout', 'out one\n'],
        ['stderr', 'err\n'],
        ['stdout', ''],
        ['stdout', 'stdin is stdout'],
        ['stdout', 'ü'.repeat(40)],
      ]);
      expect(demuxer.pendingBytes).toBe(0);
    }
  });

  it('keeps an unfinished frame for the next chunk', () => {
    const demuxer = new FrameDemuxer();
    const whole = frame(2, 'abcdef');
    expect(demuxer.push(whole.subarray(0, 10))).toEqual([]);
    expect(demuxer.pendingBytes).toBe(10);
    expect(demuxer.push(whole.subarray(10)).map((f) => f.payload.toString())).toEqual(['abcdef']);
  });
});

describe('log timestamps', () => {
  it('orders Docker nanosecond and podman whole-second timestamps exactly', () => {
    const docker = timestampNanos('2026-11-25T08:49:35.000000001Z')!;
    const podman = timestampNanos('2026-11-25T08:49:35Z')!;
    expect(docker - podman).toBe(1n);
    expect(timestampNanos('2026-11-25T08:49:35.5Z')! - podman).toBe(500_000_000n);
    expect(timestampNanos('2026-11-25T09:49:35+01:00')).toBe(podman);
    expect(timestampNanos('yesterday')).toBeUndefined();
  });

  it('splits a log frame into its timestamp and its bytes', () => {
    const split = splitTimestamp(Buffer.from('2026-11-25T08:49:35Z line 1\n'));
    expect(split?.text.toString()).toBe('line 1\n');
    expect(split?.at).toBe(timestampNanos('2026-11-25T08:49:35Z'));
    expect(splitTimestamp(Buffer.from('no timestamp here'))).toBeUndefined();
  });
});
