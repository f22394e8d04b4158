// Reads a local task's stdout and stderr spool segments from its checkpoint, for shipping to the log;
// where the task writes its spool files itself, it keeps them within the cap by freeing the oldest.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import type { OutputChunk } from '../../logs/log-stream.js';
import { completeUtf8Length } from '../../logs/utf8-boundary.js';
import {
  keptMarkerName,
  parseKeptMarker,
  parseSegmentName,
  segmentName,
  spoolDropNote,
  spoolFailureLine,
  spoolFullLine,
  spoolBound,
  type SpoolSegment,
  type SpoolStream,
} from '../shell/output-spool.js';
import { pidFileExitCode } from '../shell/task-wrapper.js';
import { PuncherClosedError } from './hole-puncher.js';

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
/** Freed output ends on a page boundary, so that whole blocks go back to the filesystem. */
const PAGE_BYTES = 4096;
/** The start of the name of the empty file a first free punches to prove the host can. */
export const PUNCH_PROBE = 'punch-probe';
/** No spool file is freed before it holds the smallest cap (logs.max_spool_bytes: 1m) and a segment. */
const NEVER_FREED_BELOW = spoolBound(1024 * 1024);

/** A cap the worker keeps on spool files the task writes itself (no spoolers: a local task). */
export interface WorkerHeldCap {
  /** logs.max_spool_bytes: past it and a segment's worth more, the oldest output is freed. */
  maxBytes: number;
  /** Frees a range of a file, which keeps its size (a HolePuncher). */
  punch: (file: string, offset: number, length: number) => Promise<void>;
  /** Told once when the cap cannot be kept (no `fallocate`, a filesystem without hole punching). */
  onError?: (message: string) => void;
}

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
  /**
   * Where the kept output of a spool file the task writes itself begins: the bytes before it were
   * freed (punched out, to read as zeros) by a worker keeping the cap. Read from the marker files.
   */
  kept: number;
  /** The punch under way that frees the bytes before `kept`. */
  punching?: Promise<void>;
}

/**
 * Reads a task's stdout and stderr from the spooler's segment files (`stdout`, `stdout.<offset>`
 * …), from byte offsets. The offsets are the checkpoint: they only move past bytes returned as
 * text (or dropped by the spool, which a system note then says), and never into the middle of a
 * UTF-8 character unless the stream is complete.
 *
 * Without spoolers the task writes `stdout` and `stderr` itself, and with a `WorkerHeldCap` this
 * tail keeps them within the cap: once a file holds more than the cap and a segment (an eighth of
 * the cap, up to 64 MiB) past what was freed before, it frees all but the newest cap bytes with
 * `fallocate --punch-hole` — the file keeps its size and its offsets, so the task writes on and a
 * byte offset means the same — after an empty marker file names where the kept output begins.
 */
export class SpoolTail {
  private readonly files: SpoolFile[];
  private cap: WorkerHeldCap | undefined;
  private marksRead = false;
  /** Whether a punch in this directory has worked: none is asked for on the task's output before. */
  private punchProven = false;
  private proving: Promise<unknown> | undefined;
  private reading = false;
  /** Whether the full disk's line is in the log (the checkpoint's `disk_full`). */
  private fullNoted: boolean;

  constructor(
    private readonly dir: string,
    checkpoint: Record<string, string>,
    /** The host named in the notes. @default the machine's hostname */
    private readonly host: string = hostname(),
    /** @default none: the spoolers keep the cap, if any */
    cap?: WorkerHeldCap,
  ) {
    this.cap = cap;
    this.fullNoted = checkpoint.disk_full === '1';
    this.files = (['stdout', 'stderr'] as const).map((stream) => ({
      stream,
      buffer: Buffer.allocUnsafe(FIRST_READ_BYTES),
      offset: Number(checkpoint[stream] ?? 0) || 0,
      lostNoted: checkpoint[`${stream}_lost`] === '1',
      kept: 0,
    }));
  }

  checkpoint(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of this.files) {
      out[f.stream] = String(f.offset);
      if (f.lostNoted) out[`${f.stream}_lost`] = '1';
    }
    if (this.fullNoted) out.disk_full = '1';
    return out;
  }

  /**
   * Frees the oldest output of spool files past the cap (see the class), unless a read is under
   * way (it keeps the cap itself first). For a timer: a worker whose shipping waits on Redis still
   * keeps the disk within the cap.
   */
  keepCapWhileIdle(): void {
    if (!this.reading) this.keepCap();
  }

  // Moves each file's kept offset past what the cap allows and frees what lies before it in the
  // background (a spawn of `fallocate` costs the worker tens of ms): reads go on from the new
  // offset meanwhile, never into the range being freed. One punch per file at a time.
  private keepCap(): void {
    const cap = this.cap;
    if (!cap) return;
    const allowed = spoolBound(cap.maxBytes);
    for (const file of this.files) {
      if (file.punching) continue;
      const spool = path.join(this.dir, file.stream);
      let size: number;
      try {
        size = statSync(spool).size;
      } catch {
        continue;
      }
      // A file never past the cap has no marker yet: most tasks never read the directory here.
      if (size <= allowed) continue;
      this.readKeptMarks();
      if (size - file.kept <= allowed) continue;
      // Proven before the first marker: a host that cannot punch holes finds out on a scrap file,
      // not after a marker has told readers to skip output that then stays on disk.
      if (!this.punchProven) {
        this.provePunch(cap);
        return;
      }
      const kept = Math.floor((size - cap.maxBytes) / PAGE_BYTES) * PAGE_BYTES;
      // The marker first: a worker that takes over skips what is being freed, never reads a
      // hole's zeros as output.
      try {
        closeSync(openSync(path.join(this.dir, keptMarkerName(file.stream, kept)), 'w'));
      } catch (error) {
        this.giveUpCap(cap, error);
        return;
      }
      if (file.kept > 0) removeFile(path.join(this.dir, keptMarkerName(file.stream, file.kept)));
      file.kept = kept;
      // From the start each time: a range a worker that died left unfreed goes too (a hole costs
      // nothing to punch again).
      file.punching = cap
        .punch(spool, 0, kept)
        .catch((error: unknown) => this.giveUpCap(cap, error))
        .finally(() => (file.punching = undefined));
    }
  }

  // Punches an empty file beside the spool: needs no room on the disk, and a filesystem that
  // cannot punch holes refuses it as it would the spool's.
  private provePunch(cap: WorkerHeldCap): void {
    if (this.proving) return;
    // Its own name: two followers of one task (see joinFollowedTasks) may prove at once.
    const probe = path.join(this.dir, `${PUNCH_PROBE}.${process.pid}.${randomBytes(4).toString('hex')}`);
    this.proving = (async () => {
      closeSync(openSync(probe, 'wx'));
      try {
        await cap.punch(probe, 0, PAGE_BYTES);
      } finally {
        removeFile(probe);
      }
    })()
      .then(
        () => (this.punchProven = true),
        (error: unknown) => this.giveUpCap(cap, error),
      )
      .finally(() => (this.proving = undefined));
  }

  // The cap cannot be kept here (no `fallocate`, a filesystem without hole punching): output stays
  // whole on disk from now on, as with no cap; what was skipped is in the log's notes already.
  private giveUpCap(cap: WorkerHeldCap, error: unknown): void {
    if (this.cap !== cap) return;
    this.cap = undefined;
    // A worker shutting down says nothing: the next one keeps the cap.
    if (!(error instanceof PuncherClosedError))
      cap.onError?.(`spool cap not kept for ${this.dir}: ${(error as Error).message}`);
  }

  // The kept markers a worker before this one left (a re-attach), read once.
  private readKeptMarks(): void {
    if (this.marksRead) return;
    this.marksRead = true;
    const names = this.names();
    for (const file of this.files) keptFromNames(file, names);
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
    if (this.fullNoted) return spoolFullLine(this.host);
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
    this.reading = true;
    try {
      this.keepCap();
      // A first free waits on its proof: reading on meanwhile would ship what the cap drops.
      if (this.proving) {
        await this.proving;
        this.keepCap();
      }
      return await this.readFiles(complete);
    } finally {
      this.reading = false;
    }
  }

  private async readFiles(complete: boolean): Promise<{ chunks: OutputChunk[]; bytes: number; more: boolean }> {
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
    if (complete && !more && !this.fullNoted && exitCodeOnPidFile(this.dir) !== undefined) {
      this.fullNoted = true;
      const text = `${spoolFullLine(this.host)}\n`;
      chunks.push({ stream: 'system', text });
      bytes += text.length;
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
    // Freed output (a hole) is skipped, and said to be dropped.
    if (file.segment!.start === 0 && file.offset < file.kept) {
      dropped += file.kept - file.offset;
      file.offset = file.kept;
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
    // Another follower of this task (a worker that the stalled check replaced, still following)
    // may have freed output while this read ran. Its marker comes before its punch, so a marker
    // past where this read began, looked for after the read, covers every byte that may have
    // read as zeros: those are dropped. No file is freed before it holds the smallest cap and
    // a segment, so most tasks never look.
    const segment = file.segment!;
    if (read > 0 && segment.start === 0 && fstatSync(segment.handle.fd).size > NEVER_FREED_BELOW) {
      keptFromNames(file, this.names());
      if (file.kept > file.offset) {
        // All of it, and on to the marker (one note for the whole gap); or the part below it.
        const gone = file.kept - file.offset;
        if (gone < read) file.buffer.copyWithin(0, gone, read);
        read = Math.max(0, read - gone);
        dropped += gone;
        file.offset = file.kept;
      }
    }
    return { dropped, read };
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
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
    // Where a worker keeping the cap (of whatever size) freed this file up to: read with the names.
    keptFromNames(file, names);
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

  /**
   * Frees what the cap allows now and waits for it: once a task has ended and its output is read,
   * so that its spool is within the cap when its end is recorded.
   */
  async settleCap(): Promise<void> {
    await this.punches();
    this.keepCap();
    await this.punches();
    // The first free of a task waits on the proof that holes can be punched here, then frees.
    this.keepCap();
    await this.punches();
  }

  private punches(): Promise<unknown> {
    return Promise.all([this.proving, ...this.files.map(async (f) => f.punching)]);
  }

  /** Closes the files, once the frees under way are done. */
  async close(): Promise<void> {
    await this.punches();
    await Promise.all(this.files.map(async (f) => f.segment?.handle.close()));
    for (const f of this.files) f.segment = undefined;
  }
}

/**
 * The exit code a wrapper put on its pid file because no exit file could be written (the spool's
 * disk was full: see WAITING_WRAPPER), or undefined.
 */
export function exitCodeOnPidFile(dir: string): number | undefined {
  try {
    return pidFileExitCode(readFileSync(path.join(dir, 'pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

// Moves a file's kept offset to the furthest its marker files name.
function keptFromNames(file: SpoolFile, names: readonly string[]): void {
  for (const name of names) file.kept = Math.max(file.kept, parseKeptMarker(file.stream, name) ?? 0);
}

function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
}

// Makes the spare the read buffer, fourfold the size (up to MAX_READ_BYTES) after a full read.
function swapBuffers(file: SpoolFile, full: boolean): void {
  const current = file.buffer;
  const wanted = full ? Math.min(MAX_READ_BYTES, current.length * 4) : current.length;
  file.buffer = file.spare && file.spare.length >= wanted ? file.spare : Buffer.allocUnsafe(wanted);
  file.spare = current;
}
