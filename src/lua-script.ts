import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CommandArg, CommandFrame } from './command-frame.js';

/**
 * A Lua script run by its SHA1 (EVALSHA), sent in full (EVAL) only when Redis does not have it
 * yet (NOSCRIPT: first use, or after a restart). Hot paths such as log appends then send a few
 * dozen bytes per call instead of the script's source.
 */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; with `frame`, the command is framed in that buffer (see CommandFrame). */
  async run(redis: Redis, keys: readonly string[], args: readonly CommandArg[], frame?: CommandFrame): Promise<unknown> {
    const send = (name: 'evalsha' | 'eval', script: string) =>
      frame ? frame.send(redis, name, [script, keys.length, ...keys, ...args]) : redis[name](script, keys.length, ...keys, ...args);
    try {
      return await send('evalsha', this.sha);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return send('eval', this.source);
    }
  }
}
