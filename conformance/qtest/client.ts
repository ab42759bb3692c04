// The commands of the qtest protocol, typed: port I/O, guest-physical memory (one value, base64
// blocks, memset) and IRQ interception, each checked before it is sent and in its reply.
// The line protocol under them (pipelining, replies in order, timeouts, IRQ lines) is
// connection.ts's.

import { QtestProtocolError } from './errors.js';
import { QtestConnection, commandText, type DataLine } from './connection.js';

export type GuestAddress = number | bigint;

/** A qtest connection that speaks qtest's commands by name. */
export class QtestClient extends QtestConnection {
  // Each method is one promise: the command's, its reply checked in one `then` (no async
  // layers; bad arguments reject, they do not throw).

  // ---- port I/O -------------------------------------------------------------------------

  inb(port: number): Promise<number> {
    return this.#readNumber('inb', port, 16, 'port', 8);
  }
  inw(port: number): Promise<number> {
    return this.#readNumber('inw', port, 16, 'port', 16);
  }
  inl(port: number): Promise<number> {
    return this.#readNumber('inl', port, 16, 'port', 32);
  }
  outb(port: number, value: number): Promise<void> {
    return this.#write('outb', port, 16, 'port', value, 8);
  }
  outw(port: number, value: number): Promise<void> {
    return this.#write('outw', port, 16, 'port', value, 16);
  }
  outl(port: number, value: number): Promise<void> {
    return this.#write('outl', port, 16, 'port', value, 32);
  }

  // ---- guest-physical memory (the CPU's view, never the IOMMU's) ------------------------

  readb(address: GuestAddress): Promise<number> {
    return this.#readNumber('readb', address, 64, 'address', 8);
  }
  readw(address: GuestAddress): Promise<number> {
    return this.#readNumber('readw', address, 64, 'address', 16);
  }
  readl(address: GuestAddress): Promise<number> {
    return this.#readNumber('readl', address, 64, 'address', 32);
  }
  readq(address: GuestAddress): Promise<bigint> {
    let command: string;
    try {
      command = `readq ${hex(address, 64, 'address')}`;
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.command(command).then((payload) => parseBigInt(command, payload, 64));
  }
  writeb(address: GuestAddress, value: number): Promise<void> {
    return this.#write('writeb', address, 64, 'address', value, 8);
  }
  writew(address: GuestAddress, value: number): Promise<void> {
    return this.#write('writew', address, 64, 'address', value, 16);
  }
  writel(address: GuestAddress, value: number): Promise<void> {
    return this.#write('writel', address, 64, 'address', value, 32);
  }
  writeq(address: GuestAddress, value: number | bigint): Promise<void> {
    return this.#write('writeq', address, 64, 'address', value, 64);
  }

  /** Reads `length` bytes (b64read). A zero length reads nothing and sends nothing. */
  memread(address: GuestAddress, length: number): Promise<Uint8Array> {
    if (length === 0) return Promise.resolve(new Uint8Array(0));
    let command: string;
    try {
      command = `b64read ${hex(address, 64, 'address')} ${size(length)}`;
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.command(command).then((payload) => decodeBase64(command, payload, length));
  }

  /**
   * Reads `length` bytes (b64read) and returns the reply's base64 as it came, checked only
   * for its length and padding: for callers that compare it with base64 they already have
   * (equal text is the same bytes) and decode it, checking the length, when it differs.
   * A zero length sends nothing.
   */
  memreadBase64(address: GuestAddress, length: number): Promise<string> {
    let command: string;
    try {
      command = `b64read ${hex(address, 64, 'address')} ${size(length)}`;
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (length === 0) return Promise.resolve('');
    return this.command(command).then((payload) => checkBase64(command, payload, length));
  }

  /** Writes `bytes` (b64write). Writing no bytes sends nothing. */
  memwrite(address: GuestAddress, bytes: Uint8Array): Promise<void> {
    return this.memwriteBase64(address, bytes.length, base64Of(bytes));
  }

  /**
   * Writes `length` bytes given as their canonical base64 (b64write), as text or as its ASCII
   * bytes (sent as they are: for base64 written again and again, such as the DMA judge's
   * background fill). No bytes: nothing sent.
   */
  memwriteBase64(
    address: GuestAddress,
    length: number,
    base64: string | Uint8Array,
  ): Promise<void> {
    let head: string;
    try {
      head = `b64write ${hex(address, 64, 'address')} ${size(length)}`;
      const tail =
        typeof base64 === 'string'
          ? base64.slice(-4)
          : Buffer.from(base64.buffer, base64.byteOffset, base64.length).toString(
              'latin1',
              Math.max(0, base64.length - 4),
            );
      if (base64.length !== base64Length(length) || !BASE64_TAIL.test(tail)) {
        throw new RangeError(
          `b64write: ${base64.length} characters are not the base64 of ${length} bytes`,
        );
      }
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (length === 0) return Promise.resolve();
    return this.#ok(typeof base64 === 'string' ? `${head} ${base64}` : { head, data: base64 });
  }

  /** Fills `length` bytes with `byte` (memset). A zero length sends nothing. */
  memset(address: GuestAddress, length: number, byte: number): Promise<void> {
    let command: string;
    try {
      command = `memset ${hex(address, 64, 'address')} ${size(length)} ${hex(byte, 8, 'byte')}`;
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (length === 0) return Promise.resolve();
    return this.#ok(command);
  }

  /** Routes the named QOM object's GPIO inputs to this connection as `IRQ` lines. */
  irqInterceptIn(qomPath: string): Promise<void> {
    if (!/^[\w/.\-[\]]+$/.test(qomPath)) {
      return Promise.reject(new TypeError(`invalid QOM path: ${JSON.stringify(qomPath)}`));
    }
    return this.#ok(`irq_intercept_in ${qomPath}`);
  }

  #ok(command: string | DataLine): Promise<void> {
    return this.command(command).then((payload) => {
      if (payload !== '')
        throw new QtestProtocolError(commandText(command), `OK ${payload}`, 'unexpected payload');
    });
  }

  /** `name where value`: `where` (a port or an address) of `whereBits`, `value` of `bits`. */
  #write(
    name: string,
    where: GuestAddress,
    whereBits: number,
    what: string,
    value: number | bigint,
    bits: number,
  ): Promise<void> {
    let command: string;
    try {
      command = `${name} ${hex(where, whereBits, what)} ${hex(value, bits, 'value')}`;
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.#ok(command);
  }

  /** `name where`, answered by a value of at most `bits` (at most 32) bits. */
  #readNumber(
    name: string,
    where: GuestAddress,
    whereBits: number,
    what: string,
    bits: number,
  ): Promise<number> {
    let command: string;
    try {
      command = `${name} ${hex(where, whereBits, what)}`;
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.command(command).then((payload) => parseNumber(command, payload, bits));
  }
}

/** What a qtest read answers: `0x` and 1 to 16 hexadecimal digits. */
const HEX_VALUE = /^0x[0-9a-fA-F]{1,16}$/;
/** How canonical base64 may end (its last four characters). */
const BASE64_TAIL = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A read's payload as a number of at most `bits` (at most 32) bits, or a protocol error: what
 * HEX_VALUE matches, read digit by digit (the commonest reply, cheaper than the regex and a
 * BigInt).
 */
function parseNumber(command: string, payload: string, bits: number): number {
  const length = payload.length;
  let value = length > 2 && length <= 18 && payload.startsWith('0x') ? 0 : -1;
  for (let i = 2; i < length && value >= 0; i++) {
    const digit = hexDigit(payload.charCodeAt(i));
    // Exact below 2^53; a wider value stays at or above 2 ** bits however it rounds.
    value = digit < 0 ? -1 : value * 16 + digit;
  }
  if (value < 0) {
    throw new QtestProtocolError(command, `OK ${payload}`, 'expected a hexadecimal value');
  }
  if (value >= 2 ** bits) {
    throw new QtestProtocolError(command, `OK ${payload}`, `value wider than ${bits} bits`);
  }
  return value;
}

/** The value of a hexadecimal digit's character code, or -1. */
function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** A read's payload as a bigint of at most `bits` bits, or a protocol error. */
function parseBigInt(command: string, payload: string, bits: number): bigint {
  if (!HEX_VALUE.test(payload)) {
    throw new QtestProtocolError(command, `OK ${payload}`, 'expected a hexadecimal value');
  }
  const value = BigInt(payload);
  if (value >> BigInt(bits) !== 0n) {
    throw new QtestProtocolError(command, `OK ${payload}`, `value wider than ${bits} bits`);
  }
  return value;
}

/**
 * A b64read's payload checked: Node's decoder skips what is not base64, so canonical base64
 * of `length` bytes is the only reply of this length that decodes to `length` bytes (cheaper
 * than a regex on MiBs).
 */
function checkBase64(command: string, payload: string, length: number): string {
  if (payload.length !== base64Length(length) || !payload.endsWith(base64Tail(length))) {
    throw new QtestProtocolError(command, payload, 'reply is not base64');
  }
  return payload;
}

/** A b64read's payload as `length` bytes, or a protocol error. */
function decodeBase64(command: string, payload: string, length: number): Uint8Array {
  const bytes = Buffer.from(checkBase64(command, payload, length), 'base64');
  if (bytes.length !== length) {
    throw new QtestProtocolError(command, payload, `expected ${length} bytes, got ${bytes.length}`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Typed arrays up to this many bytes live on V8's heap until something asks for their
 * `.buffer`, which then moves them off it (a microsecond or more): base64Of copies such small
 * arrays into SCRATCH instead.
 */
const ON_HEAP_MAX = 64;
const SCRATCH = Buffer.allocUnsafe(ON_HEAP_MAX);

/** The base64 of `bytes`. */
function base64Of(bytes: Uint8Array): string {
  if (bytes.length <= ON_HEAP_MAX) {
    SCRATCH.set(bytes);
    return SCRATCH.toString('base64', 0, bytes.length);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

/** Formats a non-negative integer of at most `bits` bits as `0x…`, or throws a RangeError. */
function hex(value: number | bigint, bits: number, what: string): string {
  // A bigint address below 2^53 (every guest address of the suite's RAM) takes the number path.
  if (typeof value === 'bigint' && value >= 0n && value <= MAX_SAFE) value = Number(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${what} ${value} is not an integer`);
    // The common case without a BigInt: every width up to 52 bits is exact in a number.
    if (value >= 0 && (bits >= 53 || value < 2 ** bits)) return `0x${hexDigits(value)}`;
  }
  const big = BigInt(value);
  if (big < 0n || big >> BigInt(bits) !== 0n) {
    throw new RangeError(`${what} ${value} does not fit in ${bits} bits`);
  }
  return `0x${big.toString(16)}`;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Each byte's two hex digits, and its digits without a leading zero. */
const BYTE_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const LEAD_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16));

/**
 * `value.toString(16)` for a safe non-negative integer, byte by byte from a table: V8 formats
 * a number at or above 2^31 (a PCI BAR's MMIO address) in radix 16 several times slower.
 */
function hexDigits(value: number): string {
  if (value < 0x1_0000_0000) return hex32(value, false);
  return hex32(Math.floor(value / 0x1_0000_0000), false) + hex32(value >>> 0, true);
}

/** The hex digits of a 32-bit `value`: all eight when `padded`, else without leading zeros. */
function hex32(value: number, padded: boolean): string {
  const b3 = value >>> 24;
  const b2 = (value >>> 16) & 0xff;
  const b1 = (value >>> 8) & 0xff;
  const b0 = value & 0xff;
  if (padded) return BYTE_HEX[b3]! + BYTE_HEX[b2]! + BYTE_HEX[b1]! + BYTE_HEX[b0]!;
  if (b3 !== 0) return LEAD_HEX[b3]! + BYTE_HEX[b2]! + BYTE_HEX[b1]! + BYTE_HEX[b0]!;
  if (b2 !== 0) return LEAD_HEX[b2]! + BYTE_HEX[b1]! + BYTE_HEX[b0]!;
  if (b1 !== 0) return LEAD_HEX[b1]! + BYTE_HEX[b0]!;
  return LEAD_HEX[b0]!;
}

/** Characters of the canonical (padded) base64 of `length` bytes. */
function base64Length(length: number): number {
  return 4 * Math.ceil(length / 3);
}

/** How canonical base64 of `length` bytes ends: its padding. */
function base64Tail(length: number): string {
  return '='.repeat((3 - (length % 3)) % 3);
}

function size(length: number): string {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`length ${length} is not a non-negative integer`);
  }
  return String(length);
}
