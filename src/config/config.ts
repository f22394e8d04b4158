// The YAML config: its schema and defaults, where the file is, how it is read (errors name the
// line and the field), and the sample `config --init` writes.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { z } from 'zod';
import { parseByteSize } from './byte-size.js';
import { DurationSchema } from './duration.js';
import { ConfigError, describeError, UnknownExecutorError, UsageError } from '../errors.js';
import { parseEngineAddress } from '../executors/container/engine-address.js';
import { environmentProblem } from '../executors/shell/env-names.js';
import { httpUrlSchema } from '../notify/http-url.js';
import { notifierNameProblem, NotifiersSchema } from '../notify/notifier-config.js';
import { isWebhookSecret, resolveWebhookSecret, WEBHOOK_SECRET_FORM } from '../notify/webhook-signature.js';
import { EXECUTOR_NAME_PATTERN, PERMISSION_MODES } from '../tasks/request.js';
import { describeIssue } from '../text/zod-issues.js';
import { escapeControls } from '../text/escape.js';
import { LOG_FORMATS } from '../text/process-log.js';

// A size written as `512m` or `2g` (powers of 1024) or a number of bytes, at least `minimum`.
function byteSizeSchema(minimum: string) {
  const least = parseByteSize(minimum)!;
  return z.union([z.number().positive(), z.string()]).transform((value, ctx) => {
    const bytes = typeof value === 'number' ? Math.round(value) : parseByteSize(value);
    if (bytes === undefined || bytes < least) {
      ctx.addIssue({ code: 'custom', message: `expected a size like 512m or 2g (at least ${minimum})` });
      return z.NEVER;
    }
    return bytes;
  });
}

// A PEM file path (`~` expanded) that must exist when the config is read.
const PemFileSchema = z
  .string()
  .min(1)
  .transform((file) => expandHome(file))
  .refine((file) => existsSync(file), { message: 'no such file — give the path of a PEM file' });

// YAML writes `RUST_LOG: 1` as a number; env values are strings.
const EnvSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

export const ExecutorConfigSchema = z
  .object({
    name: z.string().regex(EXECUTOR_NAME_PATTERN, 'use letters, digits, "-", "_" and "." (not starting with "_")'),
    type: z.enum(['local', 'ssh', 'container']),
    host: z.string().min(1).optional(),
    /** @default 22 */
    port: z.number().int().min(1).max(65535).default(22),
    /** SSH: the login user (@default the current user). Container: the user the task runs as, `name`, `uid` or `uid:gid` (@default the image's). */
    user: z.string().min(1).optional(),
    key_path: z.string().min(1).optional(),
    /** @default defaults.claude_path, then "claude" */
    claude_path: z.string().min(1).optional(),
    /** claude --permission-mode for this executor's Claude tasks that set none. */
    permission_mode: z.enum(PERMISSION_MODES).optional(),
    image: z.string().min(1).optional(),
    /** @default "docker" */
    runtime: z.enum(['docker', 'podman']).default('docker'),
    /** Container: mounts as `docker run -v` takes them: `host-path:container-path[:ro]`, `volume:container-path`, or a lone path for an anonymous volume. @default [] */
    volumes: z.array(z.string()).default([]),
    /**
     * Container: the engine's API, a socket path or a unix://, tcp://, https:// or ssh:// URL.
     * @default $DOCKER_HOST, else the runtime's socket: /var/run/docker.sock; for podman /run/podman/podman.sock (root) or $XDG_RUNTIME_DIR/podman/podman.sock
     */
    socket: z
      .string()
      .min(1)
      .refine(
        (text) => parseEngineAddress(text) !== undefined,
        'a socket path like /run/podman/podman.sock or a URL like unix:///var/run/docker.sock or tcp://host:2375',
      )
      .optional(),
    /** Container: memory limit, swap included, like 512m or 2g. @default no limit */
    memory: byteSizeSchema('6m').optional(),
    /** Container: CPUs the task may use, like 1.5. @default no limit */
    cpus: z.number().positive().max(1024).optional(),
    /** Container: most processes the task may have at once. @default the engine's default */
    pids_limit: z.number().int().min(1).optional(),
    /** Container: the network to join: `none`, `host`, `bridge` or a named network. @default the engine's default */
    network: z.string().min(1).optional(),
    /** Container: `missing` pulls an image the engine lacks; `never` fails the task instead. @default "missing" */
    pull: z.enum(['never', 'missing']).default('missing'),
    /** Container: how long the containers of ended tasks are kept before a worker removes them. @default 1h */
    container_retention: DurationSchema.default(3_600_000),
    labels: z.array(z.string()).default([]),
    /** Local and SSH: Claude tasks run in a git worktree of their own unless they say `--no-worktree`. @default false */
    worktree: z.boolean().default(false),
    env: EnvSchema.default({}),
    /** Tasks one worker runs at once on this executor. @default 8 */
    concurrency: z.number().int().min(1).max(1000).default(8),
    /** Wall-clock limit for this executor's tasks. */
    timeout: DurationSchema.optional(),
    /**
     * Where tasks keep their spool directories: on this host for local executors
     * (@default $OPENCLAW_AGENT_HOME/tasks), on the remote for SSH (@default ~/.openclaw-agent/tasks).
     */
    spool_dir: z
      .string()
      .min(1)
      .refine((p) => !/[\n\r\0]/.test(p), 'a path without line breaks')
      .optional(),
    /** SSH: connect through this host first (OpenSSH's ProxyJump), `[user@]host[:port]`; same keys, its host key checked too. */
    jump_host: z
      .string()
      .regex(/^(?:[^@\s]+@)?[^:@\s]+(?::\d{1,5})?$/, 'a jump host like user@bastion.example.com:22')
      .optional(),
    /** SSH: the host key's `SHA256:…` fingerprint; when set, known_hosts is not consulted. */
    host_key: z
      .string()
      .regex(/^(SHA256:)?[A-Za-z0-9+/]{43}=?$/, 'a fingerprint like SHA256:abc… as `ssh-keygen -lf` prints it')
      .transform((fp) => (fp.startsWith('SHA256:') ? fp : `SHA256:${fp}`).replace(/=$/, ''))
      .optional(),
    /** SSH: `yes` refuses unknown keys, `accept-new` records them, `off` accepts anything (warns). @default "yes" */
    host_key_check: z.enum(['yes', 'accept-new', 'off']).default('yes'),
    /** SSH: the known_hosts file to check and to record new keys in. @default ~/.ssh/known_hosts */
    known_hosts: z.string().min(1).optional(),
    /** SSH: the environment variable holding the passphrase of `key_path`. @default "OPENCLAW_AGENT_SSH_PASSPHRASE" */
    key_passphrase_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .default('OPENCLAW_AGENT_SSH_PASSPHRASE'),
    /** SSH: how long connecting may take. @default 15s */
    connect_timeout: DurationSchema.default(15_000),
    /** SSH: keepalive interval; three missed answers drop the connection. @default 10s */
    keepalive_interval: DurationSchema.default(10_000),
  })
  .superRefine((executor, ctx) => {
    if (executor.type === 'ssh' && !executor.host) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'an ssh executor needs `host`' });
    }
    if (executor.type === 'container' && executor.worktree) {
      ctx.addIssue({
        code: 'custom',
        path: ['worktree'],
        message:
          'a container executor sees its repository through a volume: make worktrees there yourself, or use a local or ssh executor',
      });
    }
    if (executor.type === 'container' && !executor.image) {
      ctx.addIssue({ code: 'custom', path: ['image'], message: 'a container executor needs `image`' });
    }
    const envProblem = environmentProblem(executor.type, Object.keys(executor.env));
    if (envProblem !== undefined) ctx.addIssue({ code: 'custom', path: ['env'], message: envProblem });
  });

export const ConfigSchema = z
  .object({
    executors: z.array(ExecutorConfigSchema).default([]),
    defaults: z
      .object({
        /** @default 100 */
        max_turns: z.number().int().positive().default(100),
        /** @default "claude" */
        claude_path: z.string().min(1).default('claude'),
        webhook_url: httpUrlSchema({
          error: 'expected an http(s) URL',
          credentials:
            'put no user or password in the URL (fetch cannot send them, and they would be shown): deliveries are signed with webhook_secret instead',
        }).optional(),
        /** `whsec_` + base64 of the key; OPENCLAW_AGENT_WEBHOOK_SECRET wins over it. Unsigned when neither is set. */
        webhook_secret: z
          .string()
          // A secret is never quoted back: the message names the field only.
          .refine(isWebhookSecret, { message: `expected ${WEBHOOK_SECRET_FORM}`, params: { quiet: true } })
          .optional(),
        /** Delays between webhook delivery attempts. @default [5s, 5m, 30m, 2h, 5h, 10h, 10h] */
        webhook_retry_schedule: z.array(DurationSchema).min(1).max(50).optional(),
        /** How long one delivery attempt may take. @default 10s */
        webhook_timeout: DurationSchema.default(10_000),
        timeout: DurationSchema.optional(),
        /** Notifiers (names under `notifiers:`) every task uses unless it says `--notify`. @default [] */
        notify: z.array(z.string()).default([]),
      })
      .prefault({}),
    /** Named ways to announce a task's end: an OpenClaw gateway's wake hook, a command. @default {} */
    notifiers: NotifiersSchema,
    redis: z
      .object({
        /** @default $REDIS_URL, then redis://127.0.0.1:6379 */
        url: z.string().min(1).optional(),
        /**
         * Key prefix for queues, records and logs. One `{…}` makes it a Redis Cluster hash tag
         * (`{openclaw}`): every key of the deployment then lands in one slot, which a
         * `redis+cluster://` URL requires. @default "openclaw"
         */
        prefix: z
          .string()
          .min(1)
          .regex(
            /^[A-Za-z0-9_.-]*(\{[A-Za-z0-9_.-]+\})?[A-Za-z0-9_.-]*$/,
            'use letters, digits, "-", "_", "." and at most one {hash-tag}',
          )
          .default('openclaw'),
        /**
         * TLS for `rediss://` URLs (every connection: CLI, workers, dashboard). Certificates are
         * always verified. @default unset: the system's CAs and no client certificate
         */
        tls: z
          .object({
            /** PEM file of the CA that signed the server's certificate. @default the system's CAs */
            ca_file: PemFileSchema.optional(),
            /** PEM client certificate, for servers with `tls-auth-clients yes`; needs `key_file`. @default none */
            cert_file: PemFileSchema.optional(),
            /** PEM private key of `cert_file`. @default none */
            key_file: PemFileSchema.optional(),
            /** The host name to verify the certificate against. @default the URL's host */
            servername: z.string().min(1).optional(),
          })
          .refine((tls) => (tls.cert_file === undefined) === (tls.key_file === undefined), {
            message: 'set `cert_file` and `key_file` together',
            path: ['cert_file'],
          })
          .optional(),
        /**
         * For `redis+sentinel://` URLs: the environment variable holding the Sentinels' own
         * password (`requirepass` in sentinel.conf; the master's password goes in the URL).
         * @default "OPENCLAW_AGENT_SENTINEL_PASSWORD"
         */
        sentinel_password_env: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
          .default('OPENCLAW_AGENT_SENTINEL_PASSWORD'),
      })
      .prefault({}),
    /**
     * Signs every task request (HMAC-SHA256), and workers refuse jobs not signed with it, so that
     * writing to Redis is not enough to run commands. OPENCLAW_AGENT_TASK_SIGNING_KEY wins over it.
     * Set the same key for every client and worker of the deployment. @default unset: tasks are not signed
     */
    task_signing_key: z.string().min(16, 'use a key of at least 16 characters, e.g. `openssl rand -hex 32`').optional(),
    /** How long ended tasks keep their record and logs. @default 7d */
    retention: DurationSchema.default(7 * 86_400_000),
    /**
     * How workers, the dashboard and `up` write their own log on stderr: `text` lines or `json`
     * objects, one a line. Their `--log-format` wins over it. @default text
     */
    log_format: z.enum(LOG_FORMATS).default('text'),
    worker: z
      .object({
        /** BullMQ lock duration: how long a dead worker's task waits before another re-attaches. @default 30s */
        lock_duration: DurationSchema.default(30_000),
        /** How often workers look for stalled tasks to re-attach. @default 30s */
        stalled_interval: DurationSchema.default(30_000),
        /**
         * A worker with a free slot that takes no waiting task for this long, or whose open Redis
         * connection answers nothing for this long, reconnects and restarts its queue consumer. @default 30s
         */
        liveness_timeout: DurationSchema.default(30_000),
        /**
         * This host's name in task records: a local task started here is followed only by workers
         * with the same id; elsewhere it ends as lost. OPENCLAW_AGENT_HOST_ID wins over it. @default the hostname
         */
        host_id: z.string().trim().min(1, 'a non-empty host id').max(255).optional(),
        /**
         * How long a host's heartbeat lives: every worker of a local executor refreshes it every
         * third of this. A local task of a host whose heartbeat is gone ends `lost` when another
         * host's worker gets its job; while it beats, that worker hands the job back. @default 10s
         */
        host_heartbeat: DurationSchema.default(10_000),
        /**
         * How long a worker stays listed (`executors`, the API, /metrics) after its last beat: it
         * beats every third of this, so a killed worker disappears within it; a stopped one at
         * once. A dispatch to an executor none of whose workers beat within it is warned. @default 15s
         */
        presence_ttl: DurationSchema.refine(
          (ms) => ms >= 300,
          'expected at least 300ms (a worker beats every third of it)',
        ).default(15_000),
      })
      .prefault({}),
    logs: z
      .object({
        /** Stream entries kept per task; past it the oldest go. @default 20000 */
        max_entries: z.number().int().min(100).default(20_000),
        /**
         * Output kept per task in Redis, like 32m; past it the oldest output goes and the log says how
         * much. Bounds Redis memory: a task writing gigabytes keeps only its newest output. @default 32m
         */
        max_bytes: byteSizeSchema('4m').default(32 * 1024 * 1024),
        /**
         * Output kept per task and stream in its spool on the host that runs it, like 1g; past it
         * the oldest spooled output goes, and the log says how much of it had not been shipped
         * yet. Bounds the disk a task's output takes there: on SSH hosts (and with
         * `local_spoolers`) spoolers keep it; a local task writes its spool itself and the worker
         * following it frees the oldest. @default 1g
         */
        max_spool_bytes: byteSizeSchema('1m').optional(),
        /**
         * Local tasks' output goes through spoolers, as on SSH hosts: the cap holds while no
         * worker follows a task, and a full disk never fails the task's own writes. Costs each
         * local task's start two sh spoolers and a `dd` per stream. @default false
         */
        local_spoolers: z.boolean().default(false),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>(['callbacks']);
    config.executors.forEach((executor, index) => {
      if (executor.name === 'callbacks') {
        ctx.addIssue({
          code: 'custom',
          path: ['executors', index, 'name'],
          message: '"callbacks" is the name of the webhook queue; choose another executor name',
        });
        return;
      }
      if (seen.has(executor.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['executors', index, 'name'],
          message: `executor "${executor.name}" is defined twice`,
        });
      }
      seen.add(executor.name);
    });
    for (const name of Object.keys(config.notifiers)) {
      const problem = notifierNameProblem(name);
      if (problem !== undefined)
        ctx.addIssue({ code: 'custom', path: ['notifiers', name], message: problem, params: { quiet: true } });
    }
    config.defaults.notify.forEach((name, index) => {
      if (!Object.hasOwn(config.notifiers, name)) {
        const known = Object.keys(config.notifiers);
        ctx.addIssue({
          code: 'custom',
          path: ['defaults', 'notify', index],
          message: `no such notifier under \`notifiers:\` (defined: ${known.length > 0 ? known.join(', ') : 'none'})`,
        });
      }
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
export type ExecutorConfig = Config['executors'][number];

export interface LoadedConfig extends Config {
  /** The file it came from, or undefined when none exists and the built-in default is used. */
  sourcePath: string | undefined;
}

/** `~/.config/openclaw/coding-agent.yaml`, the original tool's path (XDG_CONFIG_HOME honoured). */
export function defaultConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(homedir(), '.config');
  return path.join(base, 'openclaw', 'coding-agent.yaml');
}

/**
 * `--config`, then `OPENCLAW_AGENT_CONFIG`, then the default path. An empty `--config` is refused:
 * it would otherwise quietly mean the environment's file or the default one. (An empty
 * `OPENCLAW_AGENT_CONFIG` is unset, as usual for environment variables.)
 */
export function resolveConfigPath(explicit?: string): { path: string; explicit: boolean } {
  if (explicit === '')
    throw new UsageError(
      '--config is empty: give the path of a config file, or leave --config out to use $OPENCLAW_AGENT_CONFIG or the default file',
    );
  const chosen = explicit || process.env.OPENCLAW_AGENT_CONFIG;
  if (chosen) return { path: path.resolve(expandHome(chosen)), explicit: true };
  return { path: defaultConfigPath(), explicit: false };
}

/**
 * Loads and validates the config, and the environment variables that stand in for its keys; a
 * missing default file means one executor named `local`.
 */
export function loadConfig(explicit?: string): LoadedConfig {
  checkEnvironment();
  const { path: file, explicit: isExplicit } = resolveConfigPath(explicit);
  if (!existsSync(file)) {
    if (isExplicit)
      throw new ConfigError(
        `config file ${escapeControls(file)} does not exist — create it with \`openclaw-agent config --init\``,
        'CONFIG_NOT_FOUND',
      );
    return { ...parseConfigText('executors: [{name: local, type: local}]', '<built-in>'), sourcePath: undefined };
  }
  return { ...parseConfigText(readConfigFile(file), file), sourcePath: file };
}

/** The largest config file read: a config is a few kilobytes; this stops a wrong path (a log, /dev/zero). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

// The file's text; a directory, an unreadable or oversized file is a ConfigError naming it.
function readConfigFile(file: string): string {
  const shown = escapeControls(file);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    if (fstatSync(fd).isDirectory())
      throw new ConfigError(`config file ${shown} is a directory — give the path of a YAML file`);
    // Read at most one byte past the limit, so that a device or a huge file is refused at once.
    const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > MAX_CONFIG_BYTES)
      throw new ConfigError(
        `config file ${shown} is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB — is it the right file?`,
      );
    return buffer.toString('utf8', 0, length);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = READ_ERRORS[code ?? ''] ?? escapeControls(code ?? message);
    throw new ConfigError(`cannot read config file ${shown}: ${reason}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const READ_ERRORS: Record<string, string> = {
  EISDIR: 'it is a directory — give the path of a YAML file',
  EACCES: 'permission denied — check its mode and owner',
  EPERM: 'permission denied — check its mode and owner',
  EIO: 'input/output error (EIO) — check the disk or the file system it is on',
};

// A malformed secret in the environment is refused where it is read, as one in the file is.
function checkEnvironment(): void {
  resolveWebhookSecret(undefined);
}

/** Parses config YAML; errors name the file, the line and the field. */
export function parseConfigText(text: string, file: string): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const line = lineCounter.linePos(syntaxError.pos[0]).line;
    const reason = escapeControls(syntaxError.message.split('\n')[0] ?? 'invalid YAML');
    throw new ConfigError(`config error in ${file} line ${line}: ${reason}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (error) {
    // Aliases expanding past yaml's limit (a "billion laughs" file), or an alias to a missing anchor.
    throw new ConfigError(
      `config error in ${file}: ${escapeControls(describeError(error))} — check the anchors (&name) and aliases (*name)`,
    );
  }
  const result = ConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const line = lineOfPath(doc, lineCounter, issue.path);
  throw new ConfigError(`config error in ${file}${line ? ` line ${line}` : ''}: ${describeIssue(issue, raw)}`);
}

// The line of the deepest YAML node that exists along `issuePath` (a missing key points at its parent).
function lineOfPath(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  issuePath: readonly PropertyKey[],
): number | undefined {
  for (let depth = issuePath.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(issuePath.slice(0, depth) as (string | number)[], true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

export function findExecutor(config: Config, name: string): ExecutorConfig | undefined {
  return config.executors.find((executor) => executor.name === name);
}

/** The executor named `name`; UNKNOWN_EXECUTOR, naming the configured ones, when there is none. */
export function requireExecutor(config: Config, name: string): ExecutorConfig {
  const executor = findExecutor(config, name);
  if (executor) return executor;
  const configured = config.executors.map((e) => e.name).join(', ') || '(none)';
  throw new UnknownExecutorError(`unknown executor "${escapeControls(name)}" — configured: ${configured}`);
}

/** `~` and `~/x` expand to the home directory; other paths are returned unchanged. */
export function expandHome(p: string, home: string = homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/** The sample written by `config --init`: the original tool's sample, with the new keys shown. */
export const SAMPLE_CONFIG = `# openclaw-agent configuration (compatible with openclaw-coding-agent)
# Reference: docs/configuration.md.

executors:
  - name: local
    type: local
    claude_path: claude
    concurrency: 8
    labels:
      - quick-tasks
      - lightweight

  # - name: crib
  #   type: ssh
  #   host: 192.168.0.152
  #   user: jimmy
  #   key_path: ~/.ssh/id_ed25519     # default: your ssh-agent
  #   host_key_check: yes             # yes | accept-new | off; or pin host_key: SHA256:…
  #   claude_path: ~/.npm-global/bin/claude
  #   labels: [rust, heavy-compute]

  # - name: builder
  #   type: container
  #   image: claude-code:latest
  #   runtime: docker
  #   volumes: [/home/jimmy/repos:/work]
  #   memory: 4g
  #   cpus: 2
  #   pull: missing                   # missing | never
  #   labels: [isolated, reproducible]

defaults:
  max_turns: 100
  claude_path: claude
  # webhook_url: https://example.com/webhook
  # notify: [jimmy]                   # notifiers every task uses unless it says --notify

# notifiers:                          # who hears of a task's end (see docs/getting-woken.md)
#   jimmy:
#     type: openclaw                  # wakes an OpenClaw agent through its gateway's /hooks/wake
#     url: http://127.0.0.1:18789     # the token: $OPENCLAW_HOOKS_TOKEN in the workers' environment
#   desk:
#     type: command                   # runs on the worker's host, no shell
#     argv: [notify-send, "{name}", "{status} after {duration}"]

# redis:
#   url: redis://127.0.0.1:6379
#   prefix: openclaw
# retention: 7d
`;
