// `--log-format` of the long-running commands (worker, dashboard, up).
import { Flags } from '@oclif/core';
import { LOG_FORMATS, parseLogFormat, type LogFormat, type ProcessLog } from '../src/text/process-log.js';

/** text: `[openclaw-agent worker local] …` lines; json: one object a line (time, level, component, msg…). */
export const logFormatFlag = Flags.string({
  description:
    "How to write log lines on stderr: text, or json (one JSON object a line) (default: the config's log_format, else text)",
  options: [...LOG_FORMATS],
});

/** The flag's value (oclif has checked it is one of the options), else the config's `log_format`. */
export function chooseLogFormat(flag: string | undefined, config: { log_format: LogFormat }): LogFormat {
  return (flag === undefined ? undefined : parseLogFormat(flag)) ?? config.log_format;
}

/**
 * Says the dashboard's one-time login link (it opens a browser session once). A text log is for a
 * person at a terminal, as before; a JSON log is for a log shipper, where the link would be kept
 * for anyone who reads the logs: there it is written, as plain text, only to a terminal.
 */
export function sayLoginUrl(log: ProcessLog, loginUrl: string | undefined): void {
  if (loginUrl === undefined) return;
  if (log.format === 'text') log.info(`to make changes from a browser, open once: ${loginUrl}`);
  else if (process.stderr.isTTY) process.stderr.write(`to make changes from a browser, open once: ${loginUrl}\n`);
  else
    log.info('the one-time login link is shown on a terminal only; start it in one, or set a token', {
      event: 'login_link_withheld',
    });
}
