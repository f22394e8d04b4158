/**
 * The library, loaded lazily so that `--help` and argument errors never pay for it. The build
 * bundles `src/` and its dependencies into one file (`dist/src/index.bundle.js`): one file loads
 * several times faster than the hundreds of modules behind it. Without the bundle (a plain `tsc`
 * build) the modules are loaded as they are.
 */
import type * as Library from '../src/index.js';

type Lib = typeof Library;

let loading: Promise<Lib> | undefined;

export function lib(): Promise<Lib> {
  loading ??= import(new URL('../src/index.bundle.js', import.meta.url).href).then(
    (bundle: Lib) => bundle,
    () => import('../src/index.js'),
  );
  return loading;
}
