// Lua scripts run on Redis by their SHA1, sent in full only when Redis lacks them.
import { createHash } from 'node:crypto';
import type { RedisClient } from './connection.js';
import type { CommandArg, CommandFrame } from './command-frame.js';

/**
 * A Lua script run by its SHA1 (EVALSHA), sent in full (EVAL) only when Redis does not have it
 * yet (NOSCRIPT: first use, or after a restart). Hot paths such as log appends then send a few
 * dozen bytes per call instead of the script's source.
 */
export class LuaScript {
  private readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; with `frame`, the command is framed in that buffer (see CommandFrame). */
  async run(
    redis: RedisClient,
    keys: readonly string[],
    args: readonly CommandArg[],
    frame?: CommandFrame,
  ): Promise<unknown> {
    return (await this.runReporting(redis, keys, args, frame)).result;
  }

  /**
   * Like `run`, and says whether the script had to be sent again in full (`resent`): it then ran
   * after any command sent on the connection meanwhile.
   */
  async runReporting(
    redis: RedisClient,
    keys: readonly string[],
    args: readonly CommandArg[],
    frame?: CommandFrame,
  ): Promise<{ result: unknown; resent: boolean }> {
    const send = (name: 'evalsha' | 'eval', script: string) =>
      frame
        ? frame.send(redis, name, [script, keys.length, ...keys, ...args])
        : redis[name](script, keys.length, ...keys, ...args);
    try {
      return { result: await send('evalsha', this.sha), resent: false };
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return { result: await send('eval', this.source), resent: true };
    }
  }
}
