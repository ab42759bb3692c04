// The commands of the qtest protocol, typed: port I/O, guest-physical memory (one value, base64
// blocks, memset) and IRQ interception, each checked before it is sent and in its reply.
// The line protocol under them (pipelining, replies in order, timeouts, IRQ lines) is
// connection.ts's.

import { QtestProtocolError } from './errors.js';
import { QtestConnection, commandText, type DataLine } from './connection.js';

export type GuestAddress = number | bigint;

/** A qtest connection that speaks qtest's commands by name. */
export class QtestClient extends QtestConnection {
  // ---- port I/O -------------------------------------------------------------------------

  async inb(port: number): Promise<number> {
    return this.#readNumber(`inb ${hex(port, 16, 'port')}`, 8);
  }
  async inw(port: number): Promise<number> {
    return this.#readNumber(`inw ${hex(port, 16, 'port')}`, 16);
  }
  async inl(port: number): Promise<number> {
    return this.#readNumber(`inl ${hex(port, 16, 'port')}`, 32);
  }
  async outb(port: number, value: number): Promise<void> {
    return this.#ok(`outb ${hex(port, 16, 'port')} ${hex(value, 8, 'value')}`);
  }
  async outw(port: number, value: number): Promise<void> {
    return this.#ok(`outw ${hex(port, 16, 'port')} ${hex(value, 16, 'value')}`);
  }
  async outl(port: number, value: number): Promise<void> {
    return this.#ok(`outl ${hex(port, 16, 'port')} ${hex(value, 32, 'value')}`);
  }

  // ---- guest-physical memory (the CPU's view, never the IOMMU's) ------------------------

  async readb(address: GuestAddress): Promise<number> {
    return this.#readNumber(`readb ${hex(address, 64, 'address')}`, 8);
  }
  async readw(address: GuestAddress): Promise<number> {
    return this.#readNumber(`readw ${hex(address, 64, 'address')}`, 16);
  }
  async readl(address: GuestAddress): Promise<number> {
    return this.#readNumber(`readl ${hex(address, 64, 'address')}`, 32);
  }
  async readq(address: GuestAddress): Promise<bigint> {
    return this.#readBigInt(`readq ${hex(address, 64, 'address')}`, 64);
  }
  async writeb(address: GuestAddress, value: number): Promise<void> {
    return this.#ok(`writeb ${hex(address, 64, 'address')} ${hex(value, 8, 'value')}`);
  }
  async writew(address: GuestAddress, value: number): Promise<void> {
    return this.#ok(`writew ${hex(address, 64, 'address')} ${hex(value, 16, 'value')}`);
  }
  async writel(address: GuestAddress, value: number): Promise<void> {
    return this.#ok(`writel ${hex(address, 64, 'address')} ${hex(value, 32, 'value')}`);
  }
  async writeq(address: GuestAddress, value: number | bigint): Promise<void> {
    return this.#ok(`writeq ${hex(address, 64, 'address')} ${hex(value, 64, 'value')}`);
  }

  /** Reads `length` bytes (b64read). A zero length reads nothing and sends nothing. */
  async memread(address: GuestAddress, length: number): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    const payload = await this.memreadBase64(address, length);
    const bytes = Buffer.from(payload, 'base64');
    if (bytes.length !== length) {
      const command = `b64read ${hex(address, 64, 'address')} ${length}`;
      throw new QtestProtocolError(
        command,
        payload,
        `expected ${length} bytes, got ${bytes.length}`,
      );
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  /**
   * Reads `length` bytes (b64read) and returns the reply's base64 as it came, checked only
   * for its length and padding: for callers that compare it with base64 they already have
   * (equal text is the same bytes) and decode it, checking the length, when it differs.
   * A zero length sends nothing.
   */
  async memreadBase64(address: GuestAddress, length: number): Promise<string> {
    const command = `b64read ${hex(address, 64, 'address')} ${size(length)}`;
    if (length === 0) return '';
    const payload = await this.command(command);
    // Node's decoder skips what is not base64, so canonical base64 of `length` bytes is the
    // only reply of this length that decodes to `length` bytes (cheaper than a regex on MiBs).
    if (payload.length !== base64Length(length) || !payload.endsWith(base64Tail(length))) {
      throw new QtestProtocolError(command, payload, 'reply is not base64');
    }
    return payload;
  }

  /** Writes `bytes` (b64write). Writing no bytes sends nothing. */
  async memwrite(address: GuestAddress, bytes: Uint8Array): Promise<void> {
    return this.memwriteBase64(
      address,
      bytes.length,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64'),
    );
  }

  /**
   * Writes `length` bytes given as their canonical base64 (b64write), as text or as its ASCII
   * bytes (sent as they are: for base64 written again and again, such as the DMA judge's
   * background fill). No bytes: nothing sent.
   */
  async memwriteBase64(
    address: GuestAddress,
    length: number,
    base64: string | Uint8Array,
  ): Promise<void> {
    const head = `b64write ${hex(address, 64, 'address')} ${size(length)}`;
    const tail =
      typeof base64 === 'string'
        ? base64.slice(-4)
        : Buffer.from(base64.buffer, base64.byteOffset, base64.length).toString(
            'latin1',
            Math.max(0, base64.length - 4),
          );
    if (base64.length !== base64Length(length) || !/^[A-Za-z0-9+/]*={0,2}$/.test(tail)) {
      throw new RangeError(
        `b64write: ${base64.length} characters are not the base64 of ${length} bytes`,
      );
    }
    if (length === 0) return;
    await this.#ok(typeof base64 === 'string' ? `${head} ${base64}` : { head, data: base64 });
  }

  /** Fills `length` bytes with `byte` (memset). A zero length sends nothing. */
  async memset(address: GuestAddress, length: number, byte: number): Promise<void> {
    const command = `memset ${hex(address, 64, 'address')} ${size(length)} ${hex(byte, 8, 'byte')}`;
    if (length === 0) return;
    await this.#ok(command);
  }

  /** Routes the named QOM object's GPIO inputs to this connection as `IRQ` lines. */
  async irqInterceptIn(qomPath: string): Promise<void> {
    if (!/^[\w/.\-[\]]+$/.test(qomPath)) {
      throw new TypeError(`invalid QOM path: ${JSON.stringify(qomPath)}`);
    }
    return this.#ok(`irq_intercept_in ${qomPath}`);
  }

  async #ok(command: string | DataLine): Promise<void> {
    const payload = await this.command(command);
    if (payload !== '')
      throw new QtestProtocolError(commandText(command), `OK ${payload}`, 'unexpected payload');
  }

  async #readBigInt(command: string, bits: number): Promise<bigint> {
    const payload = await this.command(command);
    if (!/^0x[0-9a-fA-F]{1,16}$/.test(payload)) {
      throw new QtestProtocolError(command, `OK ${payload}`, 'expected a hexadecimal value');
    }
    const value = BigInt(payload);
    if (value >> BigInt(bits) !== 0n) {
      throw new QtestProtocolError(command, `OK ${payload}`, `value wider than ${bits} bits`);
    }
    return value;
  }

  async #readNumber(command: string, bits: number): Promise<number> {
    return Number(await this.#readBigInt(command, bits));
  }
}

/** Formats a non-negative integer of at most `bits` bits as `0x…`, or throws a RangeError. */
function hex(value: number | bigint, bits: number, what: string): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${what} ${value} is not an integer`);
    // The common case without a BigInt: every width up to 52 bits is exact in a number.
    if (value >= 0 && (bits >= 53 || value < 2 ** bits)) return `0x${value.toString(16)}`;
  }
  const big = BigInt(value);
  if (big < 0n || big >> BigInt(bits) !== 0n) {
    throw new RangeError(`${what} ${value} does not fit in ${bits} bits`);
  }
  return `0x${big.toString(16)}`;
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
