// Layer: qtest.
// One client connection: bytes in, lines out. Lines end at '\n' only, as in QEMU; bytes are
// taken as Latin-1 so any byte round-trips (an unknown command is echoed byte for byte).
//
// Memory per connection stays bounded however fast the client sends and however slowly it
// reads. Lines run one at a time; short replies, and `read`/`b64read` replies of at most
// DATA_PIECE_BYTES, are gathered as bytes into one Buffer and leave in writes of about
// REPLY_BATCH_BYTES (so the commands of one burst cost one round trip and one write), and
// the data of a longer reply (up to 32 MiB of text) is encoded and written DATA_PIECE_BYTES
// at a time. Whenever the socket's write buffer is full, the connection stops running lines
// and stops reading the socket until it drains: unread input then waits in the client's
// socket, not here. A line that grows past MAX_LINE_BYTES gets one FAIL and is skipped up
// to its newline.
//
// A request round of a driver is a burst of short commands, so the cost of each reply counts:
// short text is copied into the batch byte by byte and small data replies are encoded
// straight into it, with no string in between.

import type { Socket } from 'node:net';
import { encodeData, type DataReply } from './commands/command.js';
import { encodedLength, writeBase64, writeHexDigits } from './data-encoding.js';
import { executeCommand } from './dispatch.js';
import type { QtestTarget } from './target.js';

/** Enough for a `write` of the largest transfer (two hex digits per byte) plus its words. */
export const MAX_LINE_BYTES = 40 * 1024 * 1024;
/** Short replies are written together once they reach this many characters. */
const REPLY_BATCH_BYTES = 64 * 1024;
/** Data bytes per piece of a data reply: a multiple of 3, so base64 pieces concatenate. */
const DATA_PIECE_BYTES = 3 * 16 * 1024;
/**
 * Room for a batch: a reply is added while the batch is below REPLY_BATCH_BYTES, and the
 * longest gathered reply (hex of DATA_PIECE_BYTES, its prefix and newline) fits after it.
 */
const REPLY_BUFFER_BYTES = REPLY_BATCH_BYTES + 2 * DATA_PIECE_BYTES + 64;

/** Text up to this long is copied into the batch character by character, not through Buffer.write. */
const SHORT_TEXT = 64;
/**
 * Data replies up to this many bytes are encoded by hand straight into the batch; longer ones
 * by Buffer, which is faster from about 200 bytes on.
 */
const HAND_ENCODED_BYTES = 128;

const TOO_LONG = Symbol('line too long');
const NEWLINE = 0x0a;

export function serveConnection(socket: Socket, target: QtestTarget): void {
  new QtestConnection(socket, target).start();
}

class QtestConnection {
  readonly #socket: Socket;
  readonly #target: QtestTarget;
  /** Chunks received and not yet split into lines; the first from #inputOffset on. */
  readonly #input: string[] = [];
  #inputOffset = 0;
  /** The start of a line whose newline has not arrived yet. */
  #partial: string[] = [];
  #partialLength = 0;
  /** Dropping the rest of a line that was too long, up to its newline. */
  #skipping = false;
  /** The replies of the batch under way, as bytes: the first #batchLength of #batch. */
  #batch = Buffer.allocUnsafe(REPLY_BUFFER_BYTES);
  #batchLength = 0;
  /** A data reply being written, and how many of its bytes are written. */
  #data: { reply: DataReply; done: number } | undefined;
  #waitingForDrain = false;

  constructor(socket: Socket, target: QtestTarget) {
    this.#socket = socket;
    this.#target = target;
  }

  start(): void {
    this.#socket.on('data', (chunk: Buffer) => {
      this.#input.push(chunk.toString('latin1'));
      this.#pump();
    });
  }

  /** Runs lines and writes replies until input runs out or the socket's buffer is full. */
  #pump(): void {
    try {
      while (!this.#waitingForDrain && !this.#socket.destroyed) {
        if (this.#data !== undefined) {
          this.#writeData();
          continue;
        }
        const line = this.#nextLine();
        if (line === undefined) break;
        if (line === TOO_LONG) {
          this.#queue(`FAIL Line longer than ${MAX_LINE_BYTES} bytes`);
          continue;
        }
        const reply = executeCommand(this.#target, line);
        if (typeof reply === 'string') this.#queue(reply);
        else if (reply.length <= HAND_ENCODED_BYTES) this.#queueData(reply);
        else if (reply.length <= DATA_PIECE_BYTES)
          this.#queue(reply.prefix, encodeData(reply.read(0, reply.length), reply.encoding));
        else {
          this.#flush();
          this.#data = { reply, done: 0 };
        }
      }
      if (!this.#waitingForDrain) this.#flush();
    } catch (error) {
      // Nothing a client sends may end the process: a failure here ends this connection only.
      this.#socket.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The next complete line, TOO_LONG for one past the limit, undefined when none is complete. */
  #nextLine(): string | typeof TOO_LONG | undefined {
    while (this.#input.length > 0) {
      const text = this.#input[0]!;
      const end = text.indexOf('\n', this.#inputOffset);
      if (end < 0) {
        const rest = this.#inputOffset === 0 ? text : text.slice(this.#inputOffset);
        this.#input.shift();
        this.#inputOffset = 0;
        if (this.#skipping) continue;
        this.#partial.push(rest);
        this.#partialLength += rest.length;
        if (this.#partialLength > MAX_LINE_BYTES) {
          this.#dropPartial();
          this.#skipping = true;
          return TOO_LONG;
        }
        continue;
      }
      const tail = text.slice(this.#inputOffset, end);
      this.#inputOffset = end + 1;
      if (this.#inputOffset === text.length) {
        this.#input.shift();
        this.#inputOffset = 0;
      }
      if (this.#skipping) {
        this.#skipping = false;
        continue;
      }
      const tooLong = this.#partialLength + tail.length > MAX_LINE_BYTES;
      const line = this.#partial.length === 0 ? tail : this.#partial.join('') + tail;
      this.#dropPartial();
      return tooLong ? TOO_LONG : line;
    }
    return undefined;
  }

  #dropPartial(): void {
    this.#partial = [];
    this.#partialLength = 0;
  }

  /**
   * Adds the reply line `head` + `data` to the batch; a line too long for the batch's room
   * is written alone.
   */
  #queue(head: string, data = ''): void {
    const length = head.length + data.length;
    if (length >= REPLY_BUFFER_BYTES - this.#batchLength) {
      this.#flush();
      if (length >= REPLY_BUFFER_BYTES) {
        this.#write(`${head}${data}\n`);
        return;
      }
    }
    this.#endLine(this.#text(data, this.#text(head, this.#batchLength)));
  }

  /** Adds a data reply of at most HAND_ENCODED_BYTES to the batch, encoded straight into it. */
  #queueData(reply: DataReply): void {
    const { prefix, encoding } = reply;
    if (
      prefix.length + encodedLength(encoding, reply.length) >=
      REPLY_BUFFER_BYTES - this.#batchLength
    )
      this.#flush();
    const bytes = reply.read(0, reply.length);
    const at = this.#text(prefix, this.#batchLength);
    this.#endLine(
      encoding === 'hex'
        ? writeHexDigits(bytes, this.#batch, at)
        : writeBase64(bytes, this.#batch, at),
    );
  }

  /** Writes `text` (Latin-1) into the batch at `at`; returns where it ends. */
  #text(text: string, at: number): number {
    const batch = this.#batch;
    if (text.length > SHORT_TEXT) return at + batch.write(text, at, 'latin1');
    for (let i = 0; i < text.length; i++) batch[at++] = text.charCodeAt(i);
    return at;
  }

  /** Ends the reply line that fills the batch up to `at`; a full batch is written. */
  #endLine(at: number): void {
    this.#batch[at] = NEWLINE;
    this.#batchLength = at + 1;
    if (this.#batchLength >= REPLY_BATCH_BYTES) this.#flush();
  }

  #flush(): void {
    if (this.#batchLength === 0) return;
    const bytes = this.#batch.subarray(0, this.#batchLength);
    this.#batchLength = 0;
    this.#write(bytes);
    // A write the kernel did not take whole stays queued in the socket with these very
    // bytes: the next batch then goes to a Buffer of its own.
    if (this.#socket.writableLength > 0) this.#batch = Buffer.allocUnsafe(REPLY_BUFFER_BYTES);
  }

  /** The next piece of the data reply under way; the prefix goes with the first, '\n' with the last. */
  #writeData(): void {
    const data = this.#data!;
    const { prefix, length, encoding } = data.reply;
    const end = Math.min(length, data.done + DATA_PIECE_BYTES);
    const piece = encodeData(data.reply.read(data.done, end - data.done), encoding);
    const last = end === length;
    const text = (data.done === 0 ? prefix : '') + piece + (last ? '\n' : '');
    data.done = end;
    if (last) this.#data = undefined;
    this.#write(text);
  }

  #write(data: string | Buffer): void {
    if (this.#socket.destroyed) return;
    if (this.#socket.write(data, 'latin1')) return;
    this.#waitingForDrain = true;
    this.#socket.pause();
    this.#socket.once('drain', () => {
      this.#waitingForDrain = false;
      this.#socket.resume();
      this.#pump();
    });
  }
}
