// How much of a container's output has been shipped (the task's checkpoint), and replaying the
// engine's log of it from there after a re-attach.
import type { OutputChunk } from '../../logs/log-stream.js';
import { completeUtf8Length } from '../../logs/utf8-boundary.js';
import { splitTimestamp, type EngineFrame } from './engine-frames.js';

type Stream = 'stdout' | 'stderr';

/**
 * How far a container's output has been shipped: bytes per stream, the task's checkpoint (as the
 * local executor's spool offsets are). The last bytes of a frame that end inside a UTF-8
 * character are held back until the rest arrives; they are not counted as shipped, so a
 * re-attach that replays the engine's log reads them again.
 */
export class OutputCursor {
  private readonly shipped: Record<Stream, number>;
  private readonly held: Record<Stream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  constructor(checkpoint: Record<string, string>) {
    this.shipped = { stdout: Number(checkpoint.stdout ?? 0) || 0, stderr: Number(checkpoint.stderr ?? 0) || 0 };
  }

  checkpoint(): Record<string, string> {
    return { stdout: String(this.shipped.stdout), stderr: String(this.shipped.stderr) };
  }

  /** Bytes of `stream` taken so far: shipped, plus held back. */
  consumed(stream: Stream): number {
    return this.shipped[stream] + this.held[stream].length;
  }

  /** The next bytes of `stream`; returns the part that ends on a character boundary, to ship now. */
  take(stream: Stream, bytes: Buffer): Buffer {
    const held = this.held[stream];
    const data = held.length > 0 ? Buffer.concat([held, bytes]) : bytes;
    const usable = completeUtf8Length(data);
    this.held[stream] = Buffer.from(data.subarray(usable));
    this.shipped[stream] += usable;
    return data.subarray(0, usable);
  }

  /** Frames as log chunks, neighbours of the same stream joined (fewer stream entries). */
  takeFrames(frames: readonly EngineFrame[]): OutputChunk[] {
    const chunks = new ChunkList();
    for (const frame of frames) chunks.add(frame.stream, this.take(frame.stream, frame.payload));
    return chunks.done();
  }

  /** At the end of the task: whatever is held back, shipped as it is (decoded as U+FFFD). */
  flushHeld(): OutputChunk[] {
    const chunks = new ChunkList();
    for (const stream of ['stdout', 'stderr'] as const) {
      chunks.add(stream, this.held[stream]);
      this.shipped[stream] += this.held[stream].length;
      this.held[stream] = Buffer.alloc(0);
    }
    return chunks.done();
  }
}

/**
 * Replays a container's log (`logs` with timestamps) into a cursor: bytes the cursor has already
 * taken are skipped, the rest is returned to ship. Between reads it remembers where it stands as
 * the last frame's timestamp and how many frames carried that timestamp, so the next read can
 * start a second early (`since`) and skip exactly the frames it has seen: no gap, no duplicate,
 * also where timestamps are whole seconds (podman 4) and many frames share one.
 */
export class LogReplay {
  /** Bytes per stream the replayed log held before the current frame. */
  private readonly logged: Record<Stream, number> = { stdout: 0, stderr: 0 };
  private last: { at: bigint; count: number } | undefined;
  private seenAtLast = 0;
  private passed = true;

  constructor(private readonly cursor: OutputCursor) {}

  /** `since` for the next read, in seconds: a second before the last frame seen, 0 at first. */
  since(): number {
    return this.last ? Math.max(0, Number(this.last.at / 1_000_000_000n) - 1) : 0;
  }

  /** Call before each read, which must start at `since()`. */
  beginRead(): void {
    this.seenAtLast = 0;
    this.passed = this.last === undefined;
  }

  /** The chunks of the frames not seen in an earlier read and not yet shipped. */
  take(frames: readonly EngineFrame[]): OutputChunk[] {
    const chunks = new ChunkList();
    for (const frame of frames) {
      const split = splitTimestamp(frame.payload);
      // A frame without a timestamp cannot be placed; it belongs with the last one.
      const at = split?.at ?? this.last?.at ?? 0n;
      const text = split?.text ?? frame.payload;
      if (!this.passed && this.last) {
        if (at < this.last.at) continue;
        if (at === this.last.at && this.seenAtLast < this.last.count) {
          this.seenAtLast++;
          continue;
        }
        this.passed = true;
      }
      if (this.last && at === this.last.at) this.last.count++;
      else this.last = { at, count: 1 };
      const start = this.logged[frame.stream];
      this.logged[frame.stream] += text.length;
      const consumed = this.cursor.consumed(frame.stream);
      if (this.logged[frame.stream] <= consumed) continue;
      chunks.add(frame.stream, this.cursor.take(frame.stream, text.subarray(Math.max(0, consumed - start))));
    }
    return chunks.done();
  }
}

// Joins neighbouring pieces of the same stream.
class ChunkList {
  private readonly chunks: { stream: Stream; parts: Buffer[] }[] = [];

  add(stream: Stream, bytes: Buffer): void {
    if (bytes.length === 0) return;
    const last = this.chunks.at(-1);
    if (last?.stream === stream) last.parts.push(bytes);
    else this.chunks.push({ stream, parts: [bytes] });
  }

  done(): OutputChunk[] {
    return this.chunks.map(({ stream, parts }) => ({
      stream,
      text: parts.length === 1 ? parts[0]! : Buffer.concat(parts),
    }));
  }
}
