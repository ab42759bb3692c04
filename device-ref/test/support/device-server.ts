// `viommu device` as a child process, for tests that measure what the server itself holds
// (its peak RSS from /proc) or that need it to survive whatever a client sends; and a reply
// reader that takes lines of any length as Buffers, without ever joining them into a string.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { findPackageRoot } from '../../package-root.js';

const CLI = join(findPackageRoot(), 'build', 'cli', 'viommu.js');

export interface DeviceServer {
  readonly process: ChildProcess;
  /** `unix:PATH` it listens on. */
  readonly address: string;
  /** What it wrote on stderr so far. */
  stderr(): string;
  /** Stops it (SIGTERM) and waits for it to exit; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `viommu device --board BOARD --listen unix:PATH …` and waits until it listens. */
export async function startDeviceServer(
  board: string,
  socketPath: string,
  extraArgs: readonly string[] = [],
): Promise<DeviceServer> {
  const child = spawn(
    process.execPath,
    [CLI, 'device', '--board', board, '--listen', `unix:${socketPath}`, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no 'listening' within 10 s: ${stderr}`)),
      10_000,
    );
    const check = () => {
      const match = /listening on (unix:\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) =>
      reject(new Error(`exited with ${code} before listening: ${stderr}`)),
    );
  });
  return {
    process: child,
    address,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A field of /proc/PID/status in KiB: VmRSS now, VmHWM the peak. */
export function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

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
