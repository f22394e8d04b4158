import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  InvalidInputError,
  parseConfigText,
  resolveTaskNotifiers,
  WAKE_RETRY_SCHEDULE_MS,
} from '../../src/index.js';

const NOTIFIERS = `notifiers:
  jimmy:
    type: openclaw
    url: http://127.0.0.1:18789/
    agent_id: main
  desk:
    type: command
    argv: [notify-send, "{name}", "{status} after {duration}"]
    on: [failed, timed_out]
    timeout: 5s
`;

function configError(text: string): string {
  try {
    parseConfigText(text, 'c.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('notifiers in the config', () => {
  it('reads both types with their defaults filled in', () => {
    const config = parseConfigText(`${NOTIFIERS}defaults:\n  notify: [jimmy]\n`, 'c.yaml');
    expect(config.defaults.notify).toEqual(['jimmy']);
    expect(config.notifiers.jimmy).toEqual({
      type: 'openclaw',
      on: ['completed', 'failed', 'killed', 'timed_out', 'lost', 'cancelled'],
      url: 'http://127.0.0.1:18789',
      hooksPath: '/hooks',
      tokenEnv: 'OPENCLAW_HOOKS_TOKEN',
      mode: 'now',
      agentId: 'main',
      retrySchedule: WAKE_RETRY_SCHEDULE_MS,
      timeoutMs: 10_000,
    });
    expect(config.notifiers.desk).toEqual({
      type: 'command',
      on: ['failed', 'timed_out'],
      argv: ['notify-send', '{name}', '{status} after {duration}'],
      timeoutMs: 5000,
    });
  });

  it('has none and notifies nobody without the section', () => {
    const config = parseConfigText('executors: [{name: local, type: local}]', 'c.yaml');
    expect(config.notifiers).toEqual({});
    expect(config.defaults.notify).toEqual([]);
  });

  it.each([
    [
      'notifiers:\n  jimmy:\n    type: slack\n',
      'line 3: Expected `notifiers.jimmy.type` to be one of "openclaw", "command", got `slack`',
    ],
    [
      'notifiers:\n  jimmy:\n    type: openclaw\n',
      "line 3: `notifiers.jimmy.url`: an openclaw notifier needs `url`, the gateway's address like http://127.0.0.1:18789",
    ],
    [
      'notifiers:\n  desk:\n    type: command\n',
      'line 3: `notifiers.desk.argv`: a command notifier needs `argv`, like [notify-send, "{name}", "{status}"]',
    ],
    [
      'notifiers:\n  jimmy:\n    type: openclaw\n    url: ftp://gateway\n',
      'line 4: `notifiers.jimmy.url`: expected the gateway URL, like http://127.0.0.1:18789, got `ftp://gateway`',
    ],
    [
      'notifiers:\n  jimmy:\n    type: openclaw\n    url: http://x\n    mode: later\n',
      'line 5: Expected `notifiers.jimmy.mode` to be one of "now", "next-heartbeat", got `later`',
    ],
    [
      'notifiers:\n  desk:\n    type: command\n    argv: [echo, "{nmae}"]\n',
      'line 4: `notifiers.desk.argv[1]`: {nmae} is no field; use {id} {short_id} {name} {status} {exit_code} {signal} {duration} {executor} {task_type} {cost}',
    ],
    [
      'notifiers:\n  none:\n    type: command\n    argv: [x]\n',
      'line 3: `notifiers.none`: "none" means "no notifier" in --notify; choose another name',
    ],
    [
      'notifiers:\n  jimmy:\n    type: openclaw\n    url: http://me:s3cret@gateway\n',
      'line 4: `notifiers.jimmy.url`: put no user or password in the URL: the token goes in token_env',
    ],
    [
      'notifiers:\n  jimmy:\n    type: openclaw\n    url: http://127.0.0.1:6000\n',
      'line 4: `notifiers.jimmy.url`: fetch refuses to connect to port 6000 (a "bad port" of the Fetch standard), so nothing could ever be delivered there: use another port, got `http://127.0.0.1:6000`',
    ],
    [
      'notifiers:\n  desk:\n    type: command\n    argv: ["{name}"]\n',
      'line 4: `notifiers.desk.argv[0]`: the program (argv[0]) cannot hold a {field}: give it as a fixed path or name, got `{name}`',
    ],
    [
      'notifiers:\n  desk:\n    type: command\n    argv: [x]\n    timeout: 2h\n',
      'line 5: `notifiers.desk.timeout`: expected at most 1h, got `2h`',
    ],
    [
      `${NOTIFIERS}defaults:\n  notify: [jimmy, slack]\n`,
      'line 12: `defaults.notify[1]`: no such notifier under `notifiers:` (defined: jimmy, desk), got `slack`',
    ],
  ])('names the file, the line and the field of a mistake in one line (%#)', (yaml, where) => {
    expect(configError(yaml)).toBe(`config error in c.yaml ${where}`);
  });
});

describe('resolveTaskNotifiers', () => {
  const config = parseConfigText(`${NOTIFIERS}defaults:\n  notify: [jimmy]\n`, 'c.yaml');

  it('takes defaults.notify when the task names none', () => {
    expect(resolveTaskNotifiers(config, undefined, undefined)).toEqual({ notify: ['jimmy'] });
  });

  it('takes the names given, comma-separated or repeated, each once', () => {
    expect(resolveTaskNotifiers(config, ['desk', 'jimmy,desk'], undefined)).toEqual({ notify: ['desk', 'jimmy'] });
  });

  it('turns every notifier off with none (or an empty list)', () => {
    // None is written as nothing at all.
    expect(resolveTaskNotifiers(config, ['none'], undefined)).toEqual({});
    expect(resolveTaskNotifiers(config, [], undefined)).toEqual({});
    expect(() => resolveTaskNotifiers(config, ['none', 'desk'], undefined)).toThrow(
      '`notify`: "none" turns every notifier off; do not name others beside it',
    );
  });

  it('refuses an unknown name, naming the flag and the names configured', () => {
    expect(() =>
      resolveTaskNotifiers(config, ['jimy'], undefined, { notify: '--notify', session: '--notify-session' }),
    ).toThrow(
      new InvalidInputError('unknown notifier "jimy" in `--notify` — configured: jimmy, desk; "none" turns them off'),
    );
  });

  it('passes a session key on only to an openclaw notifier', () => {
    expect(resolveTaskNotifiers(config, undefined, 'agent:main:work')).toEqual({
      notify: ['jimmy'],
      notifySession: 'agent:main:work',
    });
    expect(() => resolveTaskNotifiers(config, ['desk'], 'agent:main:work')).toThrow(
      /`notifySession` sets the OpenClaw session to wake, but this task has no openclaw notifier/,
    );
  });
});
