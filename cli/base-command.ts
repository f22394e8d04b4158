// What every CLI command shares: the global flags, the config and Redis client it opens, and how
// an error becomes one line on stderr and an exit code.
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import type { LoadedConfig, TaskClient } from '../src/index.js';
import { ownWords, refuseEmptyFlags } from './flag-values.js';
import { lib } from './load-library.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** oclif's parsed flags and arguments, by name (its own FlagOutput, which it does not export). */
type Output = Interfaces.OutputFlags<Interfaces.FlagInput>;

/** Flags every command takes, and the one place CLI errors become one line and an exit code. */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    config: Flags.string({
      description: 'Config file (default: $OPENCLAW_AGENT_CONFIG or ~/.config/openclaw/coding-agent.yaml)',
      helpGroup: 'GLOBAL',
    }),
    verbose: Flags.boolean({ description: 'Print stack traces and debug detail on errors', helpGroup: 'GLOBAL' }),
  };

  private client: TaskClient | undefined;
  private clientUrl: string | undefined;
  private loaded: { flag: string | undefined; config: LoadedConfig } | undefined;

  // Only a --verbose before `--` is ours: after it, the word belongs to the task's command.
  protected get verbose(): boolean {
    return ownWords(this.argv).includes('--verbose') || process.env.OPENCLAW_AGENT_VERBOSE === '1';
  }

  /** oclif's parse, refusing a flag given an empty value (see refuseEmptyFlags). */
  protected override async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv);
    const shapes = { ...BaseCommand.baseFlags, ...options?.baseFlags, ...options?.flags };
    await refuseEmptyFlags(parsed.raw, shapes, this.argv);
    return parsed;
  }

  /** The config (read once per command). */
  protected async loadConfig(configFlag: string | undefined): Promise<LoadedConfig> {
    if (this.loaded !== undefined && this.loaded.flag === configFlag) return this.loaded.config;
    const { loadConfig } = await lib();
    const config = loadConfig(configFlag);
    this.loaded = { flag: configFlag, config };
    return config;
  }

  /**
   * For a command run inside another (`schedule add … --config F -- run …`): reads that one's
   * config unless given a --config of its own.
   */
  takeConfig(config: LoadedConfig): void {
    this.loaded = { flag: undefined, config };
  }

  /** The Redis URL for this command, starting the private stack when no Redis is reachable. */
  protected async redisUrl(config: LoadedConfig): Promise<{ url: string; defaulted: boolean }> {
    const { resolveCommandRedis } = await lib();
    return resolveCommandRedis(config, process.argv[1]!, say);
  }

  /**
   * A connected client, closed when the command ends. With Redis found at the default address
   * and no worker for the local executors, workers are started in the background: after
   * `checkFirst`, which checks what only Redis can tell (an --after id, say), so that bad input
   * leaves nothing started (with workers there, enqueue's own check is enough).
   */
  protected async openClient(
    configFlag: string | undefined,
    checkFirst?: (client: TaskClient) => Promise<unknown>,
  ): Promise<TaskClient> {
    const config = await this.loadConfig(configFlag);
    const { TaskClient, ensureWorkers } = await lib();
    const { url, defaulted } = await this.redisUrl(config);
    const client = await TaskClient.connect(config, url);
    this.client = client;
    this.clientUrl = url;
    if (defaulted) {
      const local = config.executors.filter((e) => e.type === 'local');
      // Checked only when workers are about to start (enqueue checks all of it again).
      const count = async () => {
        const workers = (await Promise.all(local.map((e) => client.queue(e.name).getWorkersCount()))).reduce(
          (a, b) => a + b,
          0,
        );
        if (workers === 0) await checkFirst?.(client);
        return workers;
      };
      if (local.length > 0) await ensureWorkers(url, count, process.argv[1]!, say, config.sourcePath);
    }
    return client;
  }

  /** The Redis URL `openClient` connected to (a long-running command opens more connections to it). */
  protected get clientRedisUrl(): string {
    if (this.clientUrl === undefined) throw new Error('clientRedisUrl before openClient');
    return this.clientUrl;
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    await this.client?.close().catch(() => {});
    this.client = undefined;
    await super.finally(error);
  }

  protected override async catch(error: Error & { oclif?: { exit?: number } }): Promise<void> {
    if (error instanceof Errors.ExitError) throw error;
    // A failed parse is reported here; stop oclif from also warning that parse was never called.
    (this as unknown as { parsed: boolean }).parsed = true;
    const {
      isUserFacingError,
      exitCodeFor,
      describeError,
      escapeControls,
      isRedisConnectionError,
      describeRedisConnectionError,
    } = await lib();
    let code = exitCodeFor(error);
    let message = describeError(error);
    if (!isUserFacingError(error) && isRedisConnectionError(error)) {
      code = 4;
      message = `lost the connection to Redis (${describeRedisConnectionError(error)}) — check that it is running, then run the command again`;
    }
    if (!isUserFacingError(error) && error.oclif?.exit !== undefined) {
      // oclif's own parse errors: usage problems.
      code = 2;
      const whole = error.message
        .replace(/\s*See more help with --help\.?\s*$/, '')
        .replace(/\s*\n\s*/g, ': ')
        .replace(/:\s*:/g, ':');
      message = `${whole} (see \`openclaw-agent ${(this.id ?? '').replace(/:/g, ' ')} --help\`)`;
    }
    // Whatever the input held, the message stays one line.
    process.stderr.write(`openclaw-agent: ${escapeControls(message)}\n`);
    if (this.verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = code;
  }

  protected printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}
