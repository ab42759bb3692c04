// A reply reader for tests: lines of any length as Buffers, never joined into a string.

import { connect, type Socket } from 'node:net';

/** Reply lines as Buffers (without '\n'), however long; reading starts on the first call. */
export class ReplyReader {
  readonly socket: Socket;
  readonly #lines: Buffer[] = [];
  readonly #waiting: ((line: Buffer) => void)[] = [];
  #pieces: Buffer[] = [];
  #ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('end', () => {
      this.#ended = true;
      for (const waiter of this.#waiting.splice(0)) waiter(Buffer.from('<EOF>'));
    });
  }

  static connect(address: string): Promise<ReplyReader> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path: address.replace(/^unix:/, '') });
      socket.once('connect', () => resolve(new ReplyReader(socket)));
      socket.once('error', reject);
    });
  }

  /** Starts taking replies off the socket (until then they pile up in the server). */
  startReading(): void {
    if (this.socket.listenerCount('data') > 0) return;
    this.socket.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let end = chunk.indexOf(10); end >= 0; end = chunk.indexOf(10, start)) {
        this.#pieces.push(chunk.subarray(start, end));
        this.#deliver(Buffer.concat(this.#pieces));
        this.#pieces = [];
        start = end + 1;
      }
      if (start < chunk.length) this.#pieces.push(chunk.subarray(start));
    });
  }

  /** The next reply line (reading again if paused); `<EOF>` once the server closed the connection. */
  nextLine(): Promise<Buffer> {
    this.startReading();
    this.socket.resume();
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve(Buffer.from('<EOF>'));
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  send(text: string): void {
    this.socket.write(text, 'latin1');
  }

  close(): void {
    this.socket.destroy();
  }

  #deliver(line: Buffer): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(line);
    else this.#lines.push(line);
  }
}
