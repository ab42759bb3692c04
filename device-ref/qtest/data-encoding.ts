// Layer: qtest.
// The data formats of qtest's bulk commands, decoded exactly as QEMU 7.2 decodes them so
// that the same bytes land in memory on both.

/**
 * `write ADDR SIZE DATA`: QEMU skips DATA's first two characters (the `0x`, unchecked),
 * then reads two hex digits per byte for as many bytes as DATA holds; the rest of SIZE is
 * zero-filled. A character that is not a hex digit counts as -1, which QEMU then shifts and
 * ORs into the byte: "zz" stores 0xff. An odd final digit is ignored.
 */
export function decodeQtestHex(data: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size && 2 * i + 4 <= data.length; i++) {
    out[i] =
      ((hexNibble(data.charCodeAt(2 * i + 2)) << 4) | hexNibble(data.charCodeAt(2 * i + 3))) & 0xff;
  }
  return out;
}

function hexNibble(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  return -1;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_RANK = new Int8Array(256).fill(-1);
for (let i = 0; i < BASE64_ALPHABET.length; i++) BASE64_RANK[BASE64_ALPHABET.charCodeAt(i)] = i;
const PAD = '='.charCodeAt(0);
BASE64_RANK[PAD] = 0;

/**
 * `b64write`: GLib's lenient base64 decoder, as QEMU uses it. Characters outside the
 * alphabet are skipped; `=` counts as a zero digit whose position drops the bytes it pads;
 * a final incomplete group of digits is dropped.
 */
export function decodeLenientBase64(text: string): Uint8Array {
  // Canonical base64 (what every client sends) decodes natively, ~20 times faster. Node
  // skips or stops at what is not base64, so a result of the canonical length proves the
  // text was canonical; anything else takes the lenient path below.
  if (text.length % 4 === 0) {
    const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
    const fast = Buffer.from(text, 'base64');
    if (fast.length === (text.length / 4) * 3 - padding) {
      return new Uint8Array(fast.buffer, fast.byteOffset, fast.length);
    }
  }
  return decodeBase64Digits(text);
}

function decodeBase64Digits(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let length = 0;
  let value = 0;
  let digits = 0;
  let last = 0;
  let beforeLast = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const rank = code < 256 ? BASE64_RANK[code]! : -1;
    if (rank < 0) continue;
    beforeLast = last;
    last = code;
    value = ((value << 6) | rank) & 0xffffff;
    if (++digits === 4) {
      out[length++] = value >> 16;
      if (beforeLast !== PAD) out[length++] = (value >> 8) & 0xff;
      if (last !== PAD) out[length++] = value & 0xff;
      digits = 0;
    }
  }
  return out.subarray(0, length);
}
