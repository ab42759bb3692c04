// The qtest text protocol over a socket (QEMU's `-qtest`, and device-ref's qtest server).
//
// One command is one line; the device answers each command with one line, in order:
// `OK [payload]`, or `FAIL …` / `ERR …` when it refuses. Lines starting with `IRQ` are
// asynchronous interrupt reports and belong to no command. Commands can be pipelined: the
// connection writes them as they come and matches replies to commands first-in first-out.
//
// A device that stops answering, answers nonsense or hangs up makes every outstanding and
// later command fail with a typed error (see errors.ts); nothing here waits forever.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  QtestClosedError,
  QtestError,
  QtestProtocolError,
  QtestReplyError,
  QtestTimeoutError,
} from './errors.js';

export interface QtestConnectionOptions {
  /**
   * How long the device may go without answering while commands are outstanding, in ms.
   * Every reply restarts the clock, so a long pipeline does not need a longer timeout.
   */
  replyTimeoutMs?: number;
  /**
   * Called once when the connection closes unexpectedly; its text (for a spawned device:
   * its exit status and stderr) goes into the errors of the commands that were cut off.
   */
  explainClose?: () => Promise<string | CloseExplanation | undefined>;
}

/** Why a connection closed, when the suite's own side may have cut it (QtestClosedError). */
export interface CloseExplanation {
  detail: string;
  bySuite: boolean;
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

/**
 * A command line whose tail is bulk data kept as bytes (the base64 of a b64write): sent as
 * `head data`, the data written to the socket as it is, never copied into a string. Its
 * bytes must not change once the command is issued.
 */
export interface DataLine {
  head: string;
  data: Uint8Array;
}

/**
 * What every connection of this process sent: commands, and the socket writes they left in
 * (one per tick that issued any, about one round trip each). The benchmarks read it.
 */
export const qtestTraffic = { commands: 0, writes: 0 };

/** The text of a command for messages: a data line's head and its size. */
export function commandText(line: string | DataLine): string {
  return typeof line === 'string' ? line : `${line.head} <${line.data.length} bytes>`;
}

interface PendingCommand {
  command: string;
  resolve: (payload: string) => void;
  reject: (error: Error) => void;
}

/** A qtest connection: command lines out, their replies back in order, IRQ lines apart. */
export class QtestConnection {
  readonly replyTimeoutMs: number;
  readonly #socket: Socket;
  readonly #explainClose: QtestConnectionOptions['explainClose'];
  readonly #pending: PendingCommand[] = [];
  readonly #irqListeners = new Set<(event: IrqEvent) => void>();
  /** The unfinished reply line: its pieces as they came (a b64read reply spans many chunks). */
  #partial: string[] = [];
  #partialLength = 0;
  /**
   * Armed while commands are outstanding. It is not re-armed for every reply (a timer costs
   * more than the reply): when it fires it checks how long ago the last reply came.
   */
  #timer: NodeJS.Timeout | undefined;
  /** When the device last answered, or the first of the outstanding commands was sent. */
  #lastProgress = 0;
  /**
   * What the commands issued in this tick write, not written yet: the text and bulk data up to
   * the last data line's data (text, data, text, data…), then the text after it. Each line
   * ends with '\n'.
   */
  #outgoingChunks: Array<string | Uint8Array> = [];
  #outgoingText = '';
  #flushQueued = false;
  /** Set once the connection is unusable: why. Every later command fails with it. */
  #broken: string | undefined;
  /** Whether the suite's own side made it unusable (QtestClosedError.bySuite). */
  #brokenBySuite = false;
  /** Set while the socket has closed and we are still asking why. */
  #closing = false;

  constructor(socket: Socket, options: QtestConnectionOptions = {}) {
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
   * or '' for a bare `OK`). Rejects with QtestReplyError on `FAIL`/`ERR`. A DataLine sends
   * its bulk data from the bytes given.
   */
  command(line: string | DataLine): Promise<string> {
    if (typeof line === 'string' ? !isCommandLine(line) : !isDataLine(line)) {
      // QEMU asserts on an empty line; a line break would desynchronise the replies.
      return Promise.reject(
        new TypeError(`invalid qtest command line: ${JSON.stringify(commandText(line))}`),
      );
    }
    const text = commandText(line);
    if (this.#broken !== undefined) {
      return Promise.reject(new QtestClosedError(text, this.#broken, this.#brokenBySuite));
    }
    return new Promise<string>((resolve, reject) => {
      this.#pending.push({ command: text, resolve, reject });
      if (this.#closing) return; // rejected as soon as we know why the socket closed
      qtestTraffic.commands++;
      if (this.#pending.length === 1) {
        this.#lastProgress = performance.now();
        if (this.#timer === undefined) this.#armTimer(this.replyTimeoutMs);
      }
      // Commands issued in the same tick leave in one write of one string: a writev of many
      // small pieces costs the client several times what one write does. The text between
      // data lines' bulk data is one string (put together by concatenation, cheaper than an
      // array joined), the data its own buffer (one writev, the data uncopied).
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        process.nextTick(this.#flush);
      }
      if (typeof line === 'string') {
        this.#outgoingText += line + '\n';
      } else {
        this.#outgoingChunks.push(this.#outgoingText + line.head + ' ', line.data);
        this.#outgoingText = '\n';
      }
    });
  }

  /** Writes what the commands issued in this tick write. */
  readonly #flush = (): void => {
    const chunks = this.#outgoingChunks;
    const text = this.#outgoingText;
    this.#outgoingChunks = [];
    this.#outgoingText = '';
    this.#flushQueued = false;
    const socket = this.#socket;
    if (socket.destroyed) return;
    qtestTraffic.writes++;
    // Command lines are ASCII: written as latin1, no UTF-8 encoding pass.
    if (chunks.length === 0) {
      socket.write(text, 'latin1');
      return;
    }
    socket.cork();
    for (const chunk of chunks) socket.write(chunk, 'latin1');
    socket.write(text, 'latin1');
    socket.uncork();
  };

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

  #onData(chunk: string): void {
    const outstanding = this.#pending.length;
    this.#takeLines(chunk);
    // Every reply in a chunk came at once: one clock reading for all of them.
    if (this.#pending.length < outstanding) this.#lastProgress = performance.now();
  }

  #takeLines(chunk: string): void {
    let from = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', from)) {
      let line = chunk.slice(from, end);
      if (this.#partial.length > 0) {
        // One flat copy of a long reply: `join() + line` would make a cons string, copied
        // once more by the first look at it.
        this.#partial.push(line);
        line = this.#partial.join('');
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
    if (kind === 'OK') head.resolve(line.slice(3));
    else head.reject(new QtestReplyError(head.command, line));
  }

  #protocolFailure(line: string, detail: string): void {
    const head = this.#pending[0];
    const error = new QtestProtocolError(head?.command, line, detail);
    this.#fail(`${detail}: '${line.slice(0, 120)}'`, error);
    this.#socket.destroy();
  }

  #armTimer(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const head = this.#pending[0];
      if (head === undefined) return;
      const silent = performance.now() - this.#lastProgress;
      if (silent < this.replyTimeoutMs) {
        this.#armTimer(this.replyTimeoutMs - silent);
        return;
      }
      this.#fail(
        `no reply to '${head.command}' within ${this.replyTimeoutMs} ms`,
        new QtestTimeoutError(head.command, this.replyTimeoutMs),
      );
      this.#socket.destroy();
    }, ms);
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
    const { detail, bySuite } =
      typeof explanation === 'string'
        ? { detail: explanation, bySuite: false }
        : (explanation ?? { detail: 'the device closed the connection', bySuite: false });
    this.#fail(detail, undefined, bySuite);
  }

  /** Makes the connection unusable: the first outstanding command gets `first`, the rest closed errors. */
  #fail(detail: string, first?: QtestError, bySuite = false): void {
    this.#disarmTimer();
    this.#broken = detail;
    this.#brokenBySuite = bySuite;
    const pending = this.#pending.splice(0);
    pending.forEach((entry, index) =>
      entry.reject(
        index === 0 && first !== undefined
          ? first
          : new QtestClosedError(entry.command, detail, bySuite),
      ),
    );
  }
}

/**
 * A data line QEMU can take: a command line as head, then data of printable ASCII (base64)
 * with no white space at either end. Scans the data with memchr for line breaks.
 */
function isDataLine(line: DataLine): boolean {
  const { head, data } = line;
  if (!isCommandLine(head) || data.length === 0) return false;
  if (data.indexOf(0x0a) !== -1 || data.indexOf(0x0d) !== -1) return false;
  return !isSpace(data[0]!) && !isSpace(data[data.length - 1]!);
}

/**
 * A line QEMU can take: not empty (QEMU asserts on an empty line), no line break (it would
 * desynchronise the replies), no leading or trailing white space. Scans MiB lines with memchr.
 */
function isCommandLine(line: string): boolean {
  if (line.length === 0 || line.indexOf('\n') !== -1 || line.indexOf('\r') !== -1) return false;
  return !isSpace(line.charCodeAt(0)) && !isSpace(line.charCodeAt(line.length - 1));
}

/** What /\s/ matches, for one UTF-16 code unit (a regex per command line costs more). */
function isSpace(code: number): boolean {
  if (code <= 0x7f) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return /\s/.test(String.fromCharCode(code));
}

/** `OK`, `FAIL` or `ERR` (alone or followed by a space and a payload), else undefined. */
function replyKind(line: string): 'OK' | 'FAIL' | 'ERR' | undefined {
  if (line === 'OK' || line.startsWith('OK ')) return 'OK';
  for (const kind of ['OK', 'FAIL', 'ERR'] as const) {
    if (line.startsWith(kind) && (line.length === kind.length || line[kind.length] === ' '))
      return kind;
  }
  return undefined;
}
