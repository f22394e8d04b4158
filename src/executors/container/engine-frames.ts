// The engine's multiplexed output split into stdout and stderr frames, and their timestamps.
/** One frame of a container's multiplexed output (attach or logs without a TTY). */
export interface EngineFrame {
  stream: 'stdout' | 'stderr';
  payload: Buffer;
}

const HEADER_BYTES = 8;

/**
 * Splits the Engine API's multiplexed stream into frames: an 8-byte header (stream type: 0 stdin
 * (written to stdout), 1 stdout, 2 stderr; three zero bytes; the payload length as a big-endian
 * uint32), then the payload. Chunks may end anywhere, also inside a header; the rest is kept for
 * the next chunk.
 */
export class FrameDemuxer {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): EngineFrame[] {
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const frames: EngineFrame[] = [];
    let offset = 0;
    while (data.length - offset >= HEADER_BYTES) {
      const size = data.readUInt32BE(offset + 4);
      const end = offset + HEADER_BYTES + size;
      if (end > data.length) break;
      frames.push({
        stream: data[offset] === 2 ? 'stderr' : 'stdout',
        payload: data.subarray(offset + HEADER_BYTES, end),
      });
      offset = end;
    }
    // A copy: the caller's chunk may be reused, and a small rest must not pin a large buffer.
    this.rest = Buffer.from(data.subarray(offset));
    return frames;
  }

  /** Bytes of an unfinished frame; non-zero when the stream ended (or was cut) mid-frame. */
  get pendingBytes(): number {
    return this.rest.length;
  }
}

/**
 * Splits a `logs` frame requested with `timestamps: true` into its timestamp and its text. The
 * timestamp is RFC 3339 (nanoseconds from Docker, whole seconds from podman 4); `at` orders them.
 */
export function splitTimestamp(payload: Buffer): { at: bigint; text: Buffer } | undefined {
  const space = payload.indexOf(0x20);
  if (space <= 0) return undefined;
  const at = timestampNanos(payload.toString('latin1', 0, space));
  return at === undefined ? undefined : { at, text: payload.subarray(space + 1) };
}

// Nanoseconds since the epoch, exactly (a double cannot hold them).
export function timestampNanos(text: string): bigint | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}
