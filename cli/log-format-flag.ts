// `--log-format` of the long-running commands (worker, dashboard, up).
import { Flags } from '@oclif/core';
import { LOG_FORMATS, parseLogFormat, type LogFormat } from '../src/text/process-log.js';

/** text: `[openclaw-agent worker local] …` lines; json: one object a line (time, level, component, msg…). */
export const logFormatFlag = Flags.string({
  description: 'How to write log lines on stderr: text, or json (one JSON object a line)',
  options: [...LOG_FORMATS],
  default: 'text',
});

/** The flag's value as the library's type (oclif has checked it is one of the options). */
export function logFormatOf(value: string): LogFormat {
  return parseLogFormat(value) ?? 'text';
}
