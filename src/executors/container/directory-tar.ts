// A tar archive of empty directories: how missing directories are made in a container that has
// not started (the engine's archive upload needs a directory that exists).

const BLOCK = 512;

/**
 * Ustar entries for the directories `names` (relative, parents first), mode 0700 (they may come to
 * hold credentials) and owned by root in the archive: an upload with `copyUIDGID` gives them to the
 * container's user.
 */
export function directoriesTar(names: readonly string[], mtime = Date.now()): Buffer {
  const seconds = Math.floor(mtime / 1000);
  return Buffer.concat([...names.map((name) => directoryHeader(name, seconds)), Buffer.alloc(2 * BLOCK)]);
}

function directoryHeader(name: string, seconds: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  const [prefix, rest] = splitName(`${name.replace(/\/+$/, '')}/`);
  header.write(rest, 0, 100, 'utf8');
  header.write('0000700\0', 100, 'latin1');
  header.write('0000000\0', 108, 'latin1');
  header.write('0000000\0', 116, 'latin1');
  header.write('00000000000\0', 124, 'latin1');
  header.write(`${seconds.toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  header.write('        ', 148, 'latin1');
  header.write('5', 156, 'latin1');
  header.write('ustar\0' + '00', 257, 'latin1');
  header.write(prefix, 345, 155, 'utf8');
  // The checksum: the sum of the header's bytes with its own field counted as spaces.
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return header;
}

// Ustar keeps a name of up to 100 bytes, and up to 155 more before it (split at a `/`) as a prefix.
function splitName(name: string): [prefix: string, rest: string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let slash = name.indexOf('/'); slash !== -1 && slash < name.length - 1; slash = name.indexOf('/', slash + 1)) {
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return [prefix, rest];
  }
  throw new Error(`the directory ${name} has too long a path for a tar header`);
}
