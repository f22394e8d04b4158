/**
 * The library, loaded lazily so that `--help` and argument errors never pay for it. In the CLI
 * bundle this import is a lazily initialised part of the same file.
 */
import type * as Library from '../src/index.js';

type Lib = typeof Library;

let loading: Promise<Lib> | undefined;

export function lib(): Promise<Lib> {
  loading ??= import('../src/index.js');
  return loading;
}
