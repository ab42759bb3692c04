// Layer: iommu.
// Small helpers for request fields: reserved bytes, and how findings show byte fields.

export function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** How findings show a byte field: `01 00 00 00`, or a summary for a long one. */
export function hexBytes(bytes: Uint8Array): string {
  const all = Array.from(bytes);
  if (all.length <= 8) return all.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const first = all.findIndex((b) => b !== 0);
  const nonZero = all.filter((b) => b !== 0).length;
  return `${all.length} bytes, ${nonZero} of them non-zero (the first at offset ${first}: 0x${all[first]?.toString(16)})`;
}
