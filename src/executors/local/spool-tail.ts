// Reads a local task's stdout and stderr spool segments from its checkpoint, for shipping to the log.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { OutputChunk } from '../../logs/log-stream.js';
import { completeUtf8Length } from '../../logs/utf8-boundary.js';
import {
  parseSegmentName,
  segmentName,
  spoolDropNote,
  spoolFailureLine,
  type SpoolSegment,
  type SpoolStream,
} from '../shell/output-spool.js';

/**
 * The most read from one stream per call; bounds memory and the size of one log entry. A
 * kilobyte under a power of two, so that an entry with Redis's few bytes of framing still fits
 * the allocator's size class (1 MiB and a little would take 1.25 MiB of Redis memory).
 */
const MAX_READ_BYTES = (1 << 20) - 1024;
/**
 * The first read buffer. Most tasks write little, and a megabyte per stream per task was most of
 * the worker's garbage; a buffer that a read fills grows fourfold up to MAX_READ_BYTES.
 */
const FIRST_READ_BYTES = (1 << 16) - 1024;

interface SpoolFile {
  stream: SpoolStream;
  /** Its own read buffer: the chunks of one read() of both streams are shipped together. */
  buffer: Buffer;
  /** The other buffer, once output comes faster than one read takes it (see `read`). */
  spare?: Buffer;
  /** The open segment: reads go on from it even once the spooler has removed it. */
  segment?: SpoolSegment & { handle: FileHandle };
  /** The byte offset in the stream (the checkpoint), whatever the spool dropped before it. */
  offset: number;
  /** Whether the failure of its spool is in the log (the checkpoint's `<stream>_lost`). */
  lostNoted: boolean;
}

/**
 * Reads a task's stdout and stderr from the spooler's segment files (`stdout`, `stdout.<offset>`
 * …), from byte offsets. The offsets are the checkpoint: they only move past bytes returned as
 * text (or dropped by the spool, which a system note then says), and never into the middle of a
 * UTF-8 character unless the stream is complete.
 */
export class SpoolTail {
  private readonly files: SpoolFile[];

  constructor(
    private readonly dir: string,
    checkpoint: Record<string, string>,
    /** The host named in the notes. @default the machine's hostname */
    private readonly host: string = hostname(),
  ) {
    this.files = (['stdout', 'stderr'] as const).map((stream) => ({
      stream,
      buffer: Buffer.allocUnsafe(FIRST_READ_BYTES),
      offset: Number(checkpoint[stream] ?? 0) || 0,
      lostNoted: checkpoint[`${stream}_lost`] === '1',
    }));
  }

  checkpoint(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of this.files) {
      out[f.stream] = String(f.offset);
      if (f.lostNoted) out[`${f.stream}_lost`] = '1';
    }
    return out;
  }

  /**
   * Whether both spoolers have finished (`.done` or `.failed`): then no output is on its way.
   * A task without spoolers (its wrapper wrote the files itself) has nothing on its way either.
   */
  ended(): boolean {
    if (!existsSync(path.join(this.dir, 'stdout.fifo'))) return true;
    return this.files.every((f) => this.endOf(f.stream) !== undefined);
  }

  /** The line for the task's record when a spool failed, once its note is in the log. */
  failureLine(): string | undefined {
    const file = this.files.find((f) => f.lostNoted);
    if (!file) return undefined;
    const end = this.endOf(file.stream);
    return spoolFailureLine(file.stream, this.host, end?.kind === 'failed' ? end.reason : '');
  }

  /**
   * New output since the last call, at most one buffer (64 KiB growing to 1 MiB) per stream. With
   * `complete` (the process and its spoolers have ended) a trailing partial character is decoded
   * too (as U+FFFD), and a failed spool's note follows its last output.
   * The chunks are views of the read buffers: they stay valid until the next call — or, when
   * `more` says a buffer came back full (more output is waiting), until the call after that, which
   * reads into the other buffers. So the caller may ship one read while it makes the next.
   */
  async read(complete: boolean): Promise<{ chunks: OutputChunk[]; bytes: number; more: boolean }> {
    const chunks: OutputChunk[] = [];
    const used: { file: SpoolFile; full: boolean }[] = [];
    let bytes = 0;
    let more = false;
    for (const file of this.files) {
      const filled = await this.fill(file);
      const { read } = filled;
      let { dropped } = filled;
      // Kept output that starts inside a character: its first bytes go with the dropped ones.
      let skip = 0;
      while (dropped > 0 && skip < Math.min(3, read) && (file.buffer[skip]! & 0xc0) === 0x80) skip++;
      dropped += skip;
      file.offset += skip;
      if (dropped > 0) {
        const text = spoolDropNote(dropped, this.host);
        chunks.push({ stream: 'system', text });
        bytes += text.length;
      }
      const size = file.buffer.length;
      const atEnd = complete && read < size;
      const data = file.buffer.subarray(skip, read);
      const usable = data.length === 0 ? 0 : atEnd ? data.length : completeUtf8Length(data);
      if (usable > 0) {
        // The bytes go to Redis as they are (no decode and re-encode).
        chunks.push({ stream: file.stream, text: data.subarray(0, usable) });
        used.push({ file, full: read === size });
        file.offset += usable;
        bytes += usable;
        if (read === size) more = true;
      }
      if (complete && read < size && !file.lostNoted) {
        const end = this.endOf(file.stream);
        if (end?.kind === 'failed') {
          file.lostNoted = true;
          const text = `${spoolFailureLine(file.stream, this.host, end.reason)}\n`;
          chunks.push({ stream: 'system', text });
          bytes += text.length;
        }
      }
    }
    // More is waiting: the next read goes to the other buffers (a full one grows fourfold) while
    // these chunks are shipped. Both stay allocated, so a flood reuses the same memory.
    if (more) for (const { file, full } of used) swapBuffers(file, full);
    return { chunks, bytes, more };
  }

  // Fills the stream's buffer from its offset, across segments; skips what the spool dropped.
  private async fill(file: SpoolFile): Promise<{ dropped: number; read: number }> {
    let dropped = 0;
    let read = 0;
    if (!file.segment) {
      const found = this.findSegment(file);
      if (!found) return { dropped, read };
      dropped = found.dropped;
      if (!(await this.openSegment(file, found.segment))) return { dropped, read };
    }
    while (read < file.buffer.length) {
      const segment = file.segment!;
      const { bytesRead } = await segment.handle.read(
        file.buffer,
        read,
        file.buffer.length - read,
        file.offset + read - segment.start,
      );
      read += bytesRead;
      if (bytesRead > 0) continue;
      // The end of this segment: the next one starts here once the spooler has begun it.
      const next = segmentName(file.stream, file.offset + read);
      if (next !== segment.name && existsSync(path.join(this.dir, next))) {
        if (!(await this.openSegment(file, { name: next, start: file.offset + read }))) break;
        continue;
      }
      // Still there: the spooler writes on into it, or has not begun the next. Gone: the spool
      // dropped it and what followed while this worker was behind (only whole reads are kept).
      if (read > 0 || existsSync(path.join(this.dir, segment.name))) break;
      const found = this.findSegment(file);
      if (!found || found.dropped === 0) break;
      dropped += found.dropped;
      if (!(await this.openSegment(file, found.segment))) break;
    }
    return { dropped, read };
  }

  // The segment holding the stream's offset, or the oldest kept when the offset was dropped
  // (moving the offset there, past any character cut in two).
  private findSegment(file: SpoolFile): { segment: SpoolSegment; dropped: number } | undefined {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return undefined;
    }
    const segments = names
      .map((name) => parseSegmentName(file.stream, name))
      .filter((s): s is SpoolSegment => s !== undefined)
      .sort((a, b) => a.start - b.start);
    const oldest = segments[0];
    if (!oldest) return undefined;
    if (oldest.start <= file.offset) return { segment: segments.findLast((s) => s.start <= file.offset)!, dropped: 0 };
    const dropped = oldest.start - file.offset;
    file.offset = oldest.start;
    return { segment: oldest, dropped };
  }

  private async openSegment(file: SpoolFile, segment: SpoolSegment): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(path.join(this.dir, segment.name), 'r');
    } catch {
      return false;
    }
    await file.segment?.handle.close();
    file.segment = { ...segment, handle };
    return true;
  }

  private endOf(stream: SpoolStream): { kind: 'done' } | { kind: 'failed'; reason: string } | undefined {
    try {
      return { kind: 'failed', reason: readFileSync(path.join(this.dir, `${stream}.failed`), 'utf8') };
    } catch {
      return existsSync(path.join(this.dir, `${stream}.done`)) ? { kind: 'done' } : undefined;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map(async (f) => f.segment?.handle.close()));
    for (const f of this.files) f.segment = undefined;
  }
}

// Makes the spare the read buffer, fourfold the size (up to MAX_READ_BYTES) after a full read.
function swapBuffers(file: SpoolFile, full: boolean): void {
  const current = file.buffer;
  const wanted = full ? Math.min(MAX_READ_BYTES, current.length * 4) : current.length;
  file.buffer = file.spare && file.spare.length >= wanted ? file.spare : Buffer.allocUnsafe(wanted);
  file.spare = current;
}
