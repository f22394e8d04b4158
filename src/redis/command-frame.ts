// A Redis command framed in a buffer kept for reuse: how large log appends are sent.
import { Command } from 'ioredis';
import type { RedisClient } from './connection.js';

export type CommandArg = string | Buffer | number;

/**
 * A buffer kept for a command's wire frame (RESP), used again for the next command. ioredis joins
 * a command's Buffer arguments into a new buffer on every call; for a megabyte of log output the
 * page faults of that fresh memory cost far more than the copy (half of a worker's time shipping
 * a flood on a 2-vCPU VM). The frame may be reused once the command it holds has been answered.
 */
export class CommandFrame {
  private buffer = Buffer.allocUnsafe(0);

  /** Sends `name args…` on `redis` (its queue, its replies as ioredis gives them). */
  send(redis: RedisClient, name: string, args: readonly CommandArg[]): Promise<unknown> {
    const frame = this.frame(name, args);
    // The arguments are there only for a Cluster client to find the keys' slot (and node).
    const command = new Command(name, [...args], { replyEncoding: 'utf8' });
    // Written as it is, now or after a reconnect: the frame stays untouched until the reply.
    command.toWritable = () => frame;
    return redis.sendCommand(command) as Promise<unknown>;
  }

  private frame(name: string, args: readonly CommandArg[]): Buffer {
    const words = [name, ...args].map((arg) => (typeof arg === 'number' ? String(arg) : arg));
    const lengths = words.map((word) => (typeof word === 'string' ? Buffer.byteLength(word) : word.length));
    let size = `*${words.length}\r\n`.length;
    for (const length of lengths) size += `$${length}\r\n`.length + length + 2;
    if (this.buffer.length < size) this.buffer = Buffer.allocUnsafe(size);
    const out = this.buffer;
    let at = out.write(`*${words.length}\r\n`, 0, 'latin1');
    words.forEach((word, i) => {
      at += out.write(`$${lengths[i]}\r\n`, at, 'latin1');
      at += typeof word === 'string' ? out.write(word, at, 'utf8') : word.copy(out, at);
      at += out.write('\r\n', at, 'latin1');
    });
    return out.subarray(0, at);
  }
}
