// How zod parses in this process: without its compiled fast path in one-shot commands.
import { z } from 'zod';

/**
 * For a process that parses a few inputs and exits (a CLI command). zod compiles a fast path for
 * each object schema on its first parse (`new Function`); a long-running process gains from it,
 * a one-shot command only pays for the compile.
 */
export function preferOneShotParsing(): void {
  z.config({ jitless: true });
}
