// Which notifiers a task uses, checked against the config when it is enqueued.
import { InvalidInputError } from '../errors.js';
import { escapeControls } from '../text/escape.js';
import { NO_NOTIFIER, type NotifierConfig } from './notifier-config.js';

// Which notifiers a task uses: the ones its caller named, else the config's defaults.notify.

/** The names of a task's notifiers as flags or API fields spell them, for messages. */
export interface NotifyFieldNames {
  notify: string;
  session: string;
}

/**
 * The notifiers a task asks for, checked against the config: `given` as typed (`--notify`, the
 * API's `notify`; undefined takes `defaults.notify`, `none` or an empty list takes none, which is
 * returned as no `notify` at all), and the
 * OpenClaw session key, which needs an openclaw notifier to go to.
 */
export function resolveTaskNotifiers(
  config: { notifiers: Readonly<Record<string, NotifierConfig>>; defaults: { notify: readonly string[] } },
  given: readonly string[] | undefined,
  session: string | undefined,
  fields: NotifyFieldNames = { notify: 'notify', session: 'notifySession' },
): { notify?: string[]; notifySession?: string } {
  const names =
    given === undefined
      ? [...config.defaults.notify]
      : given
          .flatMap((word) => word.split(','))
          .map((word) => word.trim())
          .filter(Boolean);
  if (names.includes(NO_NOTIFIER) && names.some((name) => name !== NO_NOTIFIER)) {
    throw new InvalidInputError(`\`${fields.notify}\`: "none" turns every notifier off; do not name others beside it`);
  }
  const chosen = [...new Set(names.filter((name) => name !== NO_NOTIFIER))];
  for (const name of chosen) {
    if (!Object.hasOwn(config.notifiers, name)) {
      const known = Object.keys(config.notifiers);
      throw new InvalidInputError(
        `unknown notifier "${escapeControls(name)}" in \`${fields.notify}\` — configured: ${known.length > 0 ? known.join(', ') : '(none: add a `notifiers:` section to the config)'}; "none" turns them off`,
      );
    }
  }
  // None is written as nothing: the request stays as small as it was before notifiers.
  if (session === undefined) return chosen.length > 0 ? { notify: chosen } : {};
  if (!chosen.some((name) => config.notifiers[name]?.type === 'openclaw')) {
    throw new InvalidInputError(
      `\`${fields.session}\` sets the OpenClaw session to wake, but this task has no openclaw notifier — name one with \`${fields.notify}\` or in defaults.notify`,
    );
  }
  return { notify: chosen, notifySession: session };
}
