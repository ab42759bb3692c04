// A client for the qtest text protocol (QEMU's `-qtest`, and device-ref's qtest server).
//
// One command is one line; the device answers each command with one line, in order:
// `OK [payload]`, or `FAIL …` / `ERR …` when it refuses. Lines starting with `IRQ` are
// asynchronous interrupt reports and belong to no command. Commands can be pipelined: the
// client writes them as they come and matches replies to commands first-in first-out.
//
// A device that stops answering, answers nonsense or hangs up makes every outstanding and
// later command fail with a typed error (see errors.ts); nothing here waits forever.

import type { Socket } from 'node:net';
import {
  QtestClosedError,
  QtestError,
  QtestProtocolError,
  QtestReplyError,
  QtestTimeoutError,
} from './errors.js';

export type GuestAddress = number | bigint;

export interface QtestClientOptions {
  /**
   * How long the device may go without answering while commands are outstanding, in ms.
   * Every reply restarts the clock, so a long pipeline does not need a longer timeout.
   */
  replyTimeoutMs?: number;
  /**
   * Called once when the connection closes unexpectedly; its text (for a spawned device:
   * its exit status and stderr) goes into the errors of the commands that were cut off.
   */
  explainClose?: () => Promise<string | undefined>;
}

/** An asynchronous `IRQ raise N` / `IRQ lower N` line (after `irq_intercept_in/out`). */
export interface IrqEvent {
  action: 'raise' | 'lower';
  irq: number;
  line: string;
}

export const DEFAULT_REPLY_TIMEOUT_MS = 5000;

/** A reply line longer than this is treated as garbage (a 1 MiB b64read is ~1.4 MB). */
const MAX_LINE_LENGTH = 64 * 1024 * 1024;

interface PendingCommand {
  command: string;
  resolve: (payload: string) => void;
  reject: (error: Error) => void;
}

export class QtestClient {
  readonly replyTimeoutMs: number;
  readonly #socket: Socket;
  readonly #explainClose: (() => Promise<string | undefined>) | undefined;
  readonly #pending: PendingCommand[] = [];
  readonly #irqListeners = new Set<(event: IrqEvent) => void>();
  /** The unfinished reply line: its pieces as they came (a b64read reply spans many chunks). */
  #partial: string[] = [];
  #partialLength = 0;
  #timer: NodeJS.Timeout | undefined;
  #corked = false;
  /** Set once the connection is unusable: why. Every later command fails with it. */
  #broken: string | undefined;
  /** Set while the socket has closed and we are still asking why. */
  #closing = false;

  constructor(socket: Socket, options: QtestClientOptions = {}) {
    this.#socket = socket;
    this.replyTimeoutMs = options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
    this.#explainClose = options.explainClose;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('error', () => {
      // 'close' follows and reports; swallowing here keeps Node from throwing.
    });
    socket.on('close', () => void this.#onClose());
  }

  /** True once the connection can no longer carry commands. */
  get closed(): boolean {
    return this.#broken !== undefined || this.#closing;
  }

  /**
   * Sends one command line and resolves with the reply's payload (the text after `OK `,
   * or '' for a bare `OK`). Rejects with QtestReplyError on `FAIL`/`ERR`.
   */
  command(line: string): Promise<string> {
    if (!isCommandLine(line)) {
      // QEMU asserts on an empty line; a line break would desynchronise the replies.
      return Promise.reject(new TypeError(`invalid qtest command line: ${JSON.stringify(line)}`));
    }
    if (this.#broken !== undefined) {
      return Promise.reject(new QtestClosedError(line, this.#broken));
    }
    return new Promise<string>((resolve, reject) => {
      this.#pending.push({ command: line, resolve, reject });
      if (this.#closing) return; // rejected as soon as we know why the socket closed
      if (this.#pending.length === 1) this.#armTimer();
      if (!this.#corked) {
        // Commands issued in the same tick leave in one write.
        this.#corked = true;
        this.#socket.cork();
        process.nextTick(() => {
          this.#corked = false;
          this.#socket.uncork();
        });
      }
      // Command lines are ASCII: written as latin1, no UTF-8 encoding pass over MiBs of base64.
      this.#socket.write(`${line}\n`, 'latin1');
    });
  }

  /** Subscribes to asynchronous IRQ lines; returns the unsubscribe function. */
  onIrq(listener: (event: IrqEvent) => void): () => void {
    this.#irqListeners.add(listener);
    return () => this.#irqListeners.delete(listener);
  }

  /** Closes the connection; outstanding commands fail with QtestClosedError. */
  async close(): Promise<void> {
    if (this.#broken === undefined) this.#fail('closed by the client');
    if (this.#socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.#socket.once('close', () => resolve());
      this.#socket.destroy();
    });
  }

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

  /** Writes `length` bytes given as their canonical base64 (b64write). No bytes: nothing sent. */
  async memwriteBase64(address: GuestAddress, length: number, base64: string): Promise<void> {
    const head = `b64write ${hex(address, 64, 'address')} ${size(length)}`;
    if (
      base64.length !== base64Length(length) ||
      !/^[A-Za-z0-9+/]*={0,2}$/.test(base64.slice(-4))
    ) {
      throw new RangeError(
        `b64write: ${base64.length} characters are not the base64 of ${length} bytes`,
      );
    }
    if (length === 0) return;
    await this.#ok(`${head} ${base64}`);
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

  // ---- internals ------------------------------------------------------------------------

  async #ok(command: string): Promise<void> {
    const payload = await this.command(command);
    if (payload !== '')
      throw new QtestProtocolError(command, `OK ${payload}`, 'unexpected payload');
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

  #onData(chunk: string): void {
    let from = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', from)) {
      let line = chunk.slice(from, end);
      if (this.#partial.length > 0) {
        line = this.#partial.join('') + line;
        this.#partial = [];
        this.#partialLength = 0;
      }
      from = end + 1;
      this.#onLine(line);
      if (this.#broken !== undefined) return;
    }
    if (from < chunk.length) {
      this.#partial.push(chunk.slice(from));
      this.#partialLength += chunk.length - from;
      if (this.#partialLength > MAX_LINE_LENGTH) {
        this.#protocolFailure(this.#partial[0]!.slice(0, 200), 'reply line too long');
      }
    }
  }

  #onLine(line: string): void {
    if (line.startsWith('IRQ')) {
      const match = /^IRQ (raise|lower) (\d+)$/.exec(line);
      if (match === null) {
        this.#protocolFailure(line, 'malformed IRQ line');
        return;
      }
      const event: IrqEvent = {
        action: match[1] as 'raise' | 'lower',
        irq: Number(match[2]),
        line,
      };
      for (const listener of this.#irqListeners) listener(event);
      return;
    }
    const kind = replyKind(line);
    if (kind === undefined) {
      this.#protocolFailure(line.slice(0, 200), 'not a qtest reply');
      return;
    }
    const head = this.#pending.shift();
    if (head === undefined) {
      this.#protocolFailure(line, 'reply without a command');
      return;
    }
    this.#disarmTimer();
    if (this.#pending.length > 0) this.#armTimer();
    if (kind === 'OK') head.resolve(line.slice(3));
    else head.reject(new QtestReplyError(head.command, line));
  }

  #protocolFailure(line: string, detail: string): void {
    const head = this.#pending[0];
    const error = new QtestProtocolError(head?.command, line, detail);
    this.#fail(`${detail}: '${line.slice(0, 120)}'`, error);
    this.#socket.destroy();
  }

  #armTimer(): void {
    this.#timer = setTimeout(() => {
      const head = this.#pending[0];
      if (head === undefined) return;
      this.#fail(
        `no reply to '${head.command}' within ${this.replyTimeoutMs} ms`,
        new QtestTimeoutError(head.command, this.replyTimeoutMs),
      );
      this.#socket.destroy();
    }, this.replyTimeoutMs);
  }

  #disarmTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #onClose(): Promise<void> {
    if (this.#broken !== undefined) return;
    this.#closing = true;
    this.#disarmTimer();
    const explanation = await this.#explainClose?.().catch((error: unknown) => String(error));
    this.#closing = false;
    if (this.#broken !== undefined) return;
    this.#fail(explanation ?? 'the device closed the connection');
  }

  /** Makes the client unusable: the first outstanding command gets `first`, the rest closed errors. */
  #fail(detail: string, first?: QtestError): void {
    this.#disarmTimer();
    this.#broken = detail;
    const pending = this.#pending.splice(0);
    pending.forEach((entry, index) =>
      entry.reject(
        index === 0 && first !== undefined ? first : new QtestClosedError(entry.command, detail),
      ),
    );
  }
}

/** Formats a non-negative integer of at most `bits` bits as `0x…`, or throws a RangeError. */
function hex(value: number | bigint, bits: number, what: string): string {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`${what} ${value} is not an integer`);
  }
  const big = BigInt(value);
  if (big < 0n || big >> BigInt(bits) !== 0n) {
    throw new RangeError(`${what} ${value} does not fit in ${bits} bits`);
  }
  return `0x${big.toString(16)}`;
}

/**
 * A line QEMU can take: not empty (QEMU asserts on an empty line), no line break (it would
 * desynchronise the replies), no leading or trailing white space. Scans MiB lines with memchr.
 */
function isCommandLine(line: string): boolean {
  if (line.length === 0 || line.indexOf('\n') !== -1 || line.indexOf('\r') !== -1) return false;
  return !/\s/.test(line[0]!) && !/\s/.test(line[line.length - 1]!);
}

/** `OK`, `FAIL` or `ERR` (alone or followed by a space and a payload), else undefined. */
function replyKind(line: string): 'OK' | 'FAIL' | 'ERR' | undefined {
  for (const kind of ['OK', 'FAIL', 'ERR'] as const) {
    if (line.startsWith(kind) && (line.length === kind.length || line[kind.length] === ' '))
      return kind;
  }
  return undefined;
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
