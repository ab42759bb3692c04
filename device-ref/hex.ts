// Layer: base.
// How messages and findings show an address or a value: 0x followed by lower-case hex digits.

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
