// `openclaw-agent mcp`: serves the task tools to an agent over MCP on stdin and stdout.
import { BaseCommand } from '../base-command.js';
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
    // As for every command: the private stack or the workers are started when missing.
    const client = await this.openClient(flags.config);
    const { url: redisUrl } = await this.redisUrl(client.config);
    const { serveMcpStdio } = loadMcpStdio();
    await serveMcpStdio({
      config: client.config,
      redisUrl,
      callerCwd: process.cwd(),
      onLog: (line) => process.stderr.write(`[openclaw-agent mcp] ${line}\n`),
    });
    const { exitAfterShutdown } = await import('../../workers/shutdown.js');
    exitAfterShutdown();
  }
}
