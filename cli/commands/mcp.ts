// `openclaw-agent mcp`: serves the task tools to an agent over MCP on stdin and stdout.
import { BaseCommand } from '../base-command.js';
import { lib } from '../load-library.js';
import { loadMcpStdio } from '../side-bundles.js';

export default class Mcp extends BaseCommand {
  static override summary = 'Serve the task tools to an agent over MCP (stdio)';
  static override description =
    'An MCP server named openclaw-agent on stdin/stdout with the tools run, start, status, logs, wait, kill, retry and list. ' +
    'For Claude Code: `claude mcp add openclaw-agent -- openclaw-agent mcp`. The dashboard serves the same tools over HTTP at /mcp. ' +
    'A relative workdir of a local task resolves against the directory the client starts this in.';
  static override examples = ['claude mcp add openclaw-agent -- <%= config.bin %> mcp'];

  async run(): Promise<void> {
    const { flags } = await this.parse(Mcp);
    const config = await this.loadConfig(flags.config);
    let redisUrl: string;
    try {
      // As for every command: the private stack or the workers are started when missing.
      await this.openClient(flags.config);
      redisUrl = this.clientRedisUrl;
    } catch (error) {
      // A Redis the user named that does not answer (yet): the server starts all the same, so
      // that the agent's client has its tools, each saying why it fails until Redis is there.
      const { namedRedisUrl } = await lib();
      const named = namedRedisUrl(config.redis.url);
      if ((error as { code?: unknown }).code !== 'REDIS_UNREACHABLE' || named === undefined) throw error;
      redisUrl = named;
    }
    const { serveMcpStdio } = loadMcpStdio();
    await serveMcpStdio({
      config,
      redisUrl,
      callerCwd: process.cwd(),
      onLog: (line) => process.stderr.write(`[openclaw-agent mcp] ${line}\n`),
    });
    const { exitAfterShutdown } = await import('../../workers/shutdown.js');
    exitAfterShutdown();
  }
}
