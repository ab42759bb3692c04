// Layer: base.
// How messages and findings show an address or a value (0x followed by lower-case hex digits)
// and a byte field.

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

/** A byte field: `01 00 00 00`, or a summary for a long one. */
export function hexBytes(bytes: Uint8Array): string {
  const all = Array.from(bytes);
  if (all.length <= 8) return all.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const first = all.findIndex((b) => b !== 0);
  const nonZero = all.filter((b) => b !== 0).length;
  return `${all.length} bytes, ${nonZero} of them non-zero (the first at offset ${first}: 0x${all[first]?.toString(16)})`;
}
