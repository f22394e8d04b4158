// Reads a local task's stdout and stderr spool files from its checkpoint, for shipping to the log.
import { statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { OutputChunk } from '../../logs/log-stream.js';
import { completeUtf8Length } from '../../logs/utf8-boundary.js';

/**
 * The most read from one spool file per call; bounds memory and the size of one log entry. A
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
  stream: 'stdout' | 'stderr';
  /** Its own read buffer: the chunks of one read() of both files are shipped together. */
  buffer: Buffer;
  /** The other buffer, once output comes faster than one read takes it (see `read`). */
  spare?: Buffer;
  path: string;
  handle?: FileHandle;
  offset: number;
}

/**
 * Reads a task's stdout and stderr spool files from byte offsets. The offsets are the checkpoint:
 * they only move past bytes returned as text, and never into the middle of a UTF-8 character
 * unless the file is complete.
 */
export class SpoolTail {
  private readonly files: SpoolFile[];

  constructor(dir: string, checkpoint: Record<string, string>) {
    this.files = (['stdout', 'stderr'] as const).map((stream) => ({
      stream,
      path: path.join(dir, stream),
      buffer: Buffer.allocUnsafe(FIRST_READ_BYTES),
      offset: Number(checkpoint[stream] ?? 0) || 0,
    }));
  }

  checkpoint(): Record<string, string> {
    return Object.fromEntries(this.files.map((f) => [f.stream, String(f.offset)]));
  }

  /**
   * New output since the last call, at most one buffer (64 KiB growing to 1 MiB) per file. With
   * `complete` (the process has ended) a trailing partial character is decoded too (as U+FFFD).
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
      // A file not opened yet is only opened once it holds something: most tasks write to one of
      // the two or to neither, and a stat is one system call where open, read and close are three.
      if (!file.handle && (statSync(file.path, { throwIfNoEntry: false })?.size ?? 0) <= file.offset) continue;
      const handle = await this.openFile(file);
      if (!handle) continue;
      const size = file.buffer.length;
      const { bytesRead } = await handle.read(file.buffer, 0, size, file.offset);
      if (bytesRead === 0) continue;
      const atEnd = complete && bytesRead < size;
      const usable = atEnd ? bytesRead : completeUtf8Length(file.buffer.subarray(0, bytesRead));
      if (usable === 0) continue;
      // The bytes go to Redis as they are (no decode and re-encode).
      chunks.push({ stream: file.stream, text: file.buffer.subarray(0, usable) });
      used.push({ file, full: bytesRead === size });
      file.offset += usable;
      bytes += usable;
      if (bytesRead === size) more = true;
    }
    // More is waiting: the next read goes to the other buffers (a full one grows fourfold) while
    // these chunks are shipped. Both stay allocated, so a flood reuses the same memory.
    if (more) for (const { file, full } of used) swapBuffers(file, full);
    return { chunks, bytes, more };
  }

  private async openFile(file: SpoolFile): Promise<FileHandle | undefined> {
    if (file.handle) return file.handle;
    try {
      file.handle = await open(file.path, 'r');
    } catch {
      return undefined;
    }
    return file.handle;
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map(async (f) => f.handle?.close()));
    for (const f of this.files) f.handle = undefined;
  }
}

// Makes the spare the read buffer, fourfold the size (up to MAX_READ_BYTES) after a full read.
function swapBuffers(file: SpoolFile, full: boolean): void {
  const current = file.buffer;
  const wanted = full ? Math.min(MAX_READ_BYTES, current.length * 4) : current.length;
  file.buffer = file.spare && file.spare.length >= wanted ? file.spare : Buffer.allocUnsafe(wanted);
  file.spare = current;
}
