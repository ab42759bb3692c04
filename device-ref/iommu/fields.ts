// Layer: iommu.
// Small helpers for request fields: whether reserved bytes are all zero.

export function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
