// The fill of watched guest RAM: every byte's value says which address it belongs to, so a
// byte that a device read, or a byte left where a write should have landed, names its place.
//
// Layout. Memory is cut into aligned 8-byte words; word k (= address >> 3) carries 56 bits:
//   bits  0..31  lo  = fmix32(k ^ keyLo)          the word index, scrambled (a bijection)
//   bits 32..55  tag = fmix32(k ^ keyTag) & 2^24-1  a check value
// spread 7 bits per byte, byte j holding bits 7j..7j+6, with the top bit of every byte set.
// keyLo and keyTag come from a 32-bit salt, so each salt gives a different fill.
//
// Why it is unambiguous. Any 15 consecutive bytes of the fill contain one whole aligned
// word; tried at each of the 8 alignments, a candidate word is accepted only when every byte
// has its top bit set and its tag matches the word index that fmix32⁻¹ gives back. A wrong
// alignment or salt passes that check with probability 2^-24, so a 15-byte window names its
// source address and salt with a false match below 8·2^-24 per salt tried (< 5·10^-7).
// Shorter runs are judged against candidate addresses byte by byte (see DmaJudge).
//
// Value classes keep the three kinds of bytes apart, one byte at a time:
//   0x80..0xff  this fill (top bit set)
//   0x01..0x7f  write payloads (payload.ts): whatever a device wrote shows up as a change
//   0x00        nothing: what QEMU and device-ref put in edu's buffer for a blocked read

const TAG_MASK = 0xff_ffff;

/** murmur3's 32-bit finalizer: a bijection of 32-bit integers that mixes every bit. */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The inverse of fmix32 (multiplicative inverses of its constants modulo 2^32). */
export function fmix32Inverse(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7ed1_b41d);
  h ^= (h >>> 13) ^ (h >>> 26);
  h = Math.imul(h, 0xa5cb_9243);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A fill of guest RAM under one salt. */
export class AddressPattern {
  readonly #keyLo: number;
  readonly #keyTag: number;

  constructor(readonly salt: number) {
    this.#keyLo = fmix32(salt ^ 0x5bd1_e995);
    this.#keyTag = fmix32(salt ^ 0x27d4_eb2f);
  }

  /** The fill's value at `address`. */
  byteAt(address: bigint | number): number {
    const a = Number(address);
    const k = Math.floor(a / 8) >>> 0;
    return wordByte(fmix32(k ^ this.#keyLo), fmix32(k ^ this.#keyTag) & TAG_MASK, a % 8);
  }

  /** The fill of `length` bytes from `base`. */
  bytes(base: bigint | number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.fillInto(out, base);
    return out;
  }

  /** Writes the fill of `out.length` bytes from `base` into `out`. */
  fillInto(out: Uint8Array, base: bigint | number): void {
    const start = Number(base);
    let i = 0;
    const head = start % 8;
    if (head !== 0) {
      for (; i < out.length && (start + i) % 8 !== 0; i++) out[i] = this.byteAt(start + i);
    }
    let k = Math.floor((start + i) / 8) >>> 0;
    for (; i + 8 <= out.length; i += 8, k = (k + 1) >>> 0) {
      const lo = fmix32(k ^ this.#keyLo);
      const tag = fmix32(k ^ this.#keyTag) & TAG_MASK;
      // 56 bits, lo in bits 0..31 and tag in 32..55, 7 per byte.
      out[i] = 0x80 | (lo & 0x7f);
      out[i + 1] = 0x80 | ((lo >>> 7) & 0x7f);
      out[i + 2] = 0x80 | ((lo >>> 14) & 0x7f);
      out[i + 3] = 0x80 | ((lo >>> 21) & 0x7f);
      out[i + 4] = 0x80 | (((lo >>> 28) | (tag << 4)) & 0x7f);
      out[i + 5] = 0x80 | ((tag >>> 3) & 0x7f);
      out[i + 6] = 0x80 | ((tag >>> 10) & 0x7f);
      out[i + 7] = 0x80 | ((tag >>> 17) & 0x7f);
    }
    for (; i < out.length; i++) out[i] = this.byteAt(start + i);
  }

  /**
   * The address of `bytes[at]`, if the 8 bytes from `at` are one whole word of this fill
   * (at any of the word's positions they are not: the caller tries the 8 alignments).
   */
  decodeWord(bytes: Uint8Array, at: number): number | undefined {
    if (at < 0 || at + 8 > bytes.length) return undefined;
    let bits = 0n;
    for (let j = 7; j >= 0; j--) {
      const byte = bytes[at + j]!;
      if ((byte & 0x80) === 0) return undefined;
      bits = (bits << 7n) | BigInt(byte & 0x7f);
    }
    const lo = Number(bits & 0xffff_ffffn);
    const tag = Number(bits >> 32n);
    const k = (fmix32Inverse(lo) ^ this.#keyLo) >>> 0;
    if ((fmix32(k ^ this.#keyTag) & TAG_MASK) !== tag) return undefined;
    return k * 8;
  }

  /**
   * The address `bytes[index]` came from, found from a whole word of this fill within the
   * run of consecutive source bytes around it (`from` ≤ index < `to`), or undefined.
   */
  locate(bytes: Uint8Array, index: number, from = 0, to = bytes.length): number | undefined {
    // A 15-byte run holds a whole word within 7 bytes of any of its bytes, either side.
    const first = Math.max(from, index - 14);
    const last = Math.min(to - 8, index + 7);
    for (let at = first; at <= last; at++) {
      const address = this.decodeWord(bytes, at);
      if (address === undefined) continue;
      const source = address + (index - at);
      const lo = Math.min(index, at);
      const hi = Math.max(index + 1, at + 8);
      // Every byte from the word to `index` must agree with the fill.
      if (source >= 0 && this.agrees(bytes, lo, hi, address - (at - lo))) return source;
    }
    return undefined;
  }

  /** True when bytes[from..to) equal the fill from `source`. */
  agrees(bytes: Uint8Array, from: number, to: number, source: number): boolean {
    for (let i = from; i < to; i++) if (bytes[i] !== this.byteAt(source + (i - from))) return false;
    return true;
  }
}

function wordByte(lo: number, tag: number, j: number): number {
  const low = BigInt(lo) | (BigInt(tag) << 32n);
  return 0x80 | Number((low >> BigInt(7 * j)) & 0x7fn);
}

const CHUNK = 0x10_0000;

/**
 * An AddressPattern that keeps what it generated, 1 MiB at a time: the background fill is
 * the same in every session, and generating 256 MiB costs ~0.7 s each time. bytes() returns
 * views into the cache when it can; callers must not change them.
 */
export class CachedPattern extends AddressPattern {
  readonly #chunks = new Map<number, Uint8Array>();

  override bytes(base: bigint | number, length: number): Uint8Array {
    const start = Number(base);
    const chunk = Math.floor(start / CHUNK);
    if (length === 0 || Math.floor((start + length - 1) / CHUNK) !== chunk) {
      return super.bytes(base, length);
    }
    const offset = start - chunk * CHUNK;
    return this.#chunk(chunk).subarray(offset, offset + length);
  }

  #chunk(index: number): Uint8Array {
    let bytes = this.#chunks.get(index);
    if (bytes === undefined) {
      bytes = new Uint8Array(CHUNK);
      this.fillInto(bytes, index * CHUNK);
      this.#chunks.set(index, bytes);
    }
    return bytes;
  }
}
