// `--log-format` of the long-running commands (worker, dashboard, up).
import { Flags } from '@oclif/core';
import { LOG_FORMATS, parseLogFormat, type LogFormat } from '../src/text/process-log.js';

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
