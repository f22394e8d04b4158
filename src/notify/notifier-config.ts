// The config's `notifiers:` section and the rules for notifier names.
import { z } from 'zod';
import { DurationSchema } from '../config/duration.js';
import { ENDED_STATUSES as ENDED, type EndedStatus } from '../tasks/status.js';

const ENDED_STATUSES = ENDED as [EndedStatus, ...EndedStatus[]];
import { TEMPLATE_FIELDS, unknownPlaceholders } from './argv-template.js';
import { httpUrlSchema } from './http-url.js';

// The `notifiers:` section of the config: named ways to announce a task's end where someone
// lives — an OpenClaw gateway's wake hook, or a command on the worker's host — and the names a
// task picks them by (`--notify NAME`, `defaults.notify`).

/** Notifier names: as executor names; `none` is the word for "no notifier". */
export const NOTIFIER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** `--notify none`: this task uses no notifier, whatever `defaults.notify` says. */
export const NO_NOTIFIER = 'none';

/** Where an openclaw notifier finds its token unless it says `token_env`. */
export const DEFAULT_TOKEN_ENV = 'OPENCLAW_HOOKS_TOKEN';

/**
 * Delays between attempts to wake an agent: short at first (a gateway restarting takes ~20 s),
 * then spreading out over a few hours.
 */
export const WAKE_RETRY_SCHEDULE_MS: readonly number[] = [
  2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000,
];

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

// One shape for both types, so that a wrong `type` or a missing field is one plain message.
const NotifierFields = z
  .object({
    type: z.enum(['openclaw', 'command']),
    /** The statuses that trigger it. @default every end: completed, failed, killed, timed_out, lost, cancelled */
    on: z
      .array(z.enum(ENDED_STATUSES))
      .min(1)
      .default([...ENDED_STATUSES]),
    /** openclaw: the gateway's base URL, like http://127.0.0.1:18789. */
    url: httpUrlSchema({
      error: 'expected the gateway URL, like http://127.0.0.1:18789',
      credentials: 'put no user or password in the URL: the token goes in token_env',
    }).optional(),
    /** openclaw: the gateway's `hooks.path`. @default "/hooks" */
    hooks_path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, 'a path like /hooks')
      .default('/hooks'),
    /** openclaw: the variable, in the worker's environment, holding the gateway's `hooks.token`. @default "OPENCLAW_HOOKS_TOKEN" */
    token_env: EnvName.default(DEFAULT_TOKEN_ENV),
    /** openclaw: `now` runs the agent at once; `next-heartbeat` leaves the event for its next heartbeat. @default "now" */
    mode: z.enum(['now', 'next-heartbeat']).default('now'),
    /** openclaw: the agent to wake. @default the gateway's default agent */
    agent_id: z.string().min(1).max(200).optional(),
    /** openclaw: delays between attempts after a connection error, a 5xx or a 429. @default [2s, 5s, 10s, 30s, 1m, 5m, 15m, 30m, 1h, 2h, 4h] */
    retry_schedule: z.array(DurationSchema).min(1).max(50).optional(),
    /** command: the program and its arguments (no shell), with {id}, {name}, {status}… in any word. */
    argv: z.array(z.string().min(1)).min(1).optional(),
    /** How long one attempt may take, at most 1h: the POST (openclaw, @default 10s) or the command (@default 30s). */
    timeout: DurationSchema.refine((ms) => ms <= 3_600_000, 'expected at most 1h').optional(),
  })
  .superRefine((notifier, ctx) => {
    if (notifier.type === 'openclaw' && notifier.url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: "an openclaw notifier needs `url`, the gateway's address like http://127.0.0.1:18789",
      });
    }
    if (notifier.type === 'command' && notifier.argv === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['argv'],
        message: 'a command notifier needs `argv`, like [notify-send, "{name}", "{status}"]',
      });
    }
    // The program is the config's to name, never a task's.
    if (notifier.argv !== undefined && /\{[a-z_]+\}/.test(notifier.argv[0]!)) {
      ctx.addIssue({
        code: 'custom',
        path: ['argv', 0],
        message: 'the program (argv[0]) cannot hold a {field}: give it as a fixed path or name',
      });
    }
    notifier.argv?.forEach((word, index) => {
      const unknown = unknownPlaceholders(word)[0];
      if (unknown !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['argv', index],
          message: `{${unknown}} is no field; use ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')}`,
          params: { quiet: true },
        });
      }
    });
  });

export interface OpenClawNotifier {
  type: 'openclaw';
  on: EndedStatus[];
  url: string;
  hooksPath: string;
  tokenEnv: string;
  mode: 'now' | 'next-heartbeat';
  agentId?: string;
  retrySchedule: readonly number[];
  timeoutMs: number;
}

export interface CommandNotifier {
  type: 'command';
  on: EndedStatus[];
  argv: string[];
  timeoutMs: number;
}

export type NotifierConfig = OpenClawNotifier | CommandNotifier;

/** One notifier of the config, checked and with its defaults filled in. */
export const NotifierSchema = NotifierFields.transform((n): NotifierConfig =>
  n.type === 'openclaw'
    ? {
        type: 'openclaw',
        on: n.on,
        url: n.url!.replace(/\/+$/, ''),
        hooksPath: n.hooks_path.replace(/\/+$/, ''),
        tokenEnv: n.token_env,
        mode: n.mode,
        agentId: n.agent_id,
        retrySchedule: n.retry_schedule ?? WAKE_RETRY_SCHEDULE_MS,
        timeoutMs: n.timeout ?? 10_000,
      }
    : { type: 'command', on: n.on, argv: n.argv!, timeoutMs: n.timeout ?? 30_000 },
);

/** The `notifiers:` mapping, name → notifier (names are checked by {@link notifierNameProblem}). */
export const NotifiersSchema = z
  .record(z.string(), NotifierSchema)
  .default({})
  // Without a prototype, a name like `toString` a task was enqueued with finds nothing here.
  .transform((map): Record<string, NotifierConfig> =>
    Object.assign(Object.create(null) as Record<string, NotifierConfig>, map),
  );

/** What is wrong with a notifier's name, or undefined when it is a good one. */
export function notifierNameProblem(name: string): string | undefined {
  if (name === NO_NOTIFIER) return '"none" means "no notifier" in --notify; choose another name';
  if (!NOTIFIER_NAME_PATTERN.test(name))
    return 'notifier names use letters, digits, "-", "_" and "." (at most 64, not starting with "-", "_" or ".")';
  return undefined;
}

/** The variables holding hooks tokens (the default one always): no task or command may see them. */
export function notifierSecretEnv(notifiers: Readonly<Record<string, NotifierConfig>>): string[] {
  const names = Object.values(notifiers).flatMap((n) => (n.type === 'openclaw' ? [n.tokenEnv] : []));
  return [...new Set([DEFAULT_TOKEN_ENV, ...names])];
}

/** Where a notifier's deliveries are shown going: the gateway's origin, or the command's program. */
export function notifierTarget(notifier: NotifierConfig): string {
  if (notifier.type === 'command') return notifier.argv[0]!;
  try {
    return new URL(notifier.url).origin;
  } catch {
    return notifier.url;
  }
}
