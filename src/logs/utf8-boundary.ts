/**
 * The length of the longest prefix of `bytes` that does not end inside a UTF-8 character. Output is
 * shipped up to this point and the few trailing bytes are read again with what follows, so a
 * character split across two writes comes out whole. Invalid bytes are not held back.
 */
export function completeUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = n - 1; i >= 0 && i >= n - 3; i--) {
    const byte = bytes[i]!;
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf8 ? 1 : byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return i + needed > n ? i : n;
  }
  return n;
}
