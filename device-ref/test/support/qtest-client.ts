// A minimal qtest client for the tests: send lines (pipelined), get reply lines in order.

import { connect, type Socket } from 'node:net';

export class LineClient {
  readonly #socket: Socket;
  readonly #waiting: ((line: string) => void)[] = [];
  #buffer = '';

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let end = this.#buffer.indexOf('\n'); end >= 0; end = this.#buffer.indexOf('\n')) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 1);
        if (!line.startsWith('IRQ')) this.#waiting.shift()?.(line);
      }
    });
  }

  static fromSocket(socket: Socket): LineClient {
    return new LineClient(socket);
  }

  /** Connects to `unix:PATH` or `tcp:HOST:PORT`. */
  static connect(address: string): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const tcp = /^tcp:(.*):(\d+)$/.exec(address);
      const socket = tcp
        ? connect({ host: tcp[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(tcp[2]) })
        : connect({ path: address.replace(/^unix:/, '') });
      socket.once('connect', () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  send(line: string): Promise<string> {
    return this.sendRaw(`${line}\n`).then((replies) => replies[0]!);
  }

  /** Writes all lines in one chunk; resolves with their replies. */
  sendAll(lines: readonly string[]): Promise<string[]> {
    return this.sendRaw(lines.map((line) => `${line}\n`).join(''), lines.length);
  }

  /** Writes `text` as is and waits for `replies` reply lines. */
  sendRaw(text: string, replies = 1): Promise<string[]> {
    const pending = Array.from(
      { length: replies },
      () => new Promise<string>((resolve) => this.#waiting.push(resolve)),
    );
    this.#socket.write(text, 'latin1');
    return Promise.all(pending);
  }

  /** Calls `listener` once the connection is closed, by either side. */
  onClose(listener: () => void): void {
    this.#socket.once('close', listener);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) resolve();
      else {
        this.#socket.once('close', () => resolve());
        this.#socket.destroy();
      }
    });
  }
}
