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

/** Canonical base64 of up to this many bytes decodes through one reused buffer. */
const SCRATCH_BYTES = 4096;
const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
/** The same bytes as a plain Uint8Array: a copy of them is one, not a Buffer. */
const scratchBytes = new Uint8Array(scratch.buffer, scratch.byteOffset, SCRATCH_BYTES);

/**
 * `b64write`'s SIZE bytes from its DATA: GLib's lenient base64 decoder, as QEMU uses it, then
 * cut at `size` or zero-filled up to it. Characters outside the alphabet are skipped; `=`
 * counts as a zero digit whose position drops the bytes it pads; a final incomplete group of
 * digits is dropped.
 */
export function decodeLenientBase64(text: string, size: number): Uint8Array {
  // Canonical base64 of SIZE bytes (what every client sends) decodes natively, ~20 times
  // faster. Node skips or stops at what is not base64, so a result of the canonical length
  // proves the text was canonical; anything else takes the lenient path below.
  if (text.length % 4 === 0) {
    const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
    if ((text.length / 4) * 3 - padding === size) {
      const decoded = size <= SCRATCH_BYTES ? scratch : Buffer.allocUnsafe(size);
      if (decoded.write(text, 0, size, 'base64') === size) {
        return decoded === scratch ? scratchBytes.slice(0, size) : decoded;
      }
    }
  }
  return decodeBase64Digits(text, new Uint8Array(size));
}

/** Decodes `text` into `out` until it is full; the rest of `out` stays as it is. */
function decodeBase64Digits(text: string, out: Uint8Array): Uint8Array {
  let length = 0;
  let value = 0;
  let digits = 0;
  let last = 0;
  let beforeLast = 0;
  // A byte stored past the end of `out` is dropped, as a typed array drops it.
  for (let i = 0; i < text.length && length < out.length; i++) {
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
  return out;
}

// Encoding into a byte buffer, for replies gathered in the connection's batch: a short reply
// then costs no string and no call into the runtime. Both give what Buffer's 'hex' and
// 'base64' encodings give.

const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const BASE64_DIGITS = Uint8Array.from(BASE64_ALPHABET, (c) => c.charCodeAt(0));

/** The number of characters `encoding` makes of `length` bytes. */
export function encodedLength(encoding: 'hex' | 'base64', length: number): number {
  return encoding === 'hex' ? 2 * length : 4 * Math.ceil(length / 3);
}

/** Writes `bytes` as lower-case hex digits into `out` from `at`; returns where they end. */
export function writeHexDigits(bytes: Uint8Array, out: Uint8Array, at: number): number {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    out[at++] = HEX_DIGITS[byte >> 4]!;
    out[at++] = HEX_DIGITS[byte & 0xf]!;
  }
  return at;
}

/** Writes `bytes` as padded base64 into `out` from `at`; returns where it ends. */
export function writeBase64(bytes: Uint8Array, out: Uint8Array, at: number): number {
  const whole = bytes.length - (bytes.length % 3);
  let i = 0;
  for (; i < whole; i += 3) {
    const group = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[at++] = BASE64_DIGITS[group >> 18]!;
    out[at++] = BASE64_DIGITS[(group >> 12) & 0x3f]!;
    out[at++] = BASE64_DIGITS[(group >> 6) & 0x3f]!;
    out[at++] = BASE64_DIGITS[group & 0x3f]!;
  }
  if (i < bytes.length) {
    const two = i + 1 < bytes.length;
    const group = (bytes[i]! << 16) | (two ? bytes[i + 1]! << 8 : 0);
    out[at++] = BASE64_DIGITS[group >> 18]!;
    out[at++] = BASE64_DIGITS[(group >> 12) & 0x3f]!;
    out[at++] = two ? BASE64_DIGITS[(group >> 6) & 0x3f]! : PAD;
    out[at++] = PAD;
  }
  return at;
}
