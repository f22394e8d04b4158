// Sizes as the config writes them (`512m`, `2g`): parsed to bytes and formatted back.
const UNIT_BYTES: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a size the way `docker run --memory` does: `512m`, `2g`, `1.5G`, `64MiB`, `100000000`
 * (bytes). Units are powers of 1024. Returns bytes, or undefined when the text is not a size.
 */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * (UNIT_BYTES[(match[2] ?? '').toLowerCase()] ?? Number.NaN);
  return Number.isFinite(bytes) ? Math.round(bytes) : undefined;
}

/** Formats bytes for humans the way they are usually written in config: `512m`, `1.5g`, `900k`. */
export function formatByteSize(bytes: number): string {
  for (const unit of ['t', 'g', 'm', 'k'] as const) {
    const size = UNIT_BYTES[unit]!;
    if (bytes >= size) return `${Number((bytes / size).toFixed(2))}${unit}`;
  }
  return `${bytes}b`;
}
