// Layer: cli.
// A fuzz run of `viommu device` as a process: several clients side by side send random qtest
// lines (fuzz/random-lines.ts) in pipelined chunks, mixed with chunks of huge reads (16 MiB
// each, sixteen at once) and with slow readers (many 1 MiB reads whose replies are read a
// little at a time), while one more client connects and stays silent all along. Every line
// must get exactly one well-formed reply (no `Internal error`), the server must not exit
// (crash) or leave a chunk unanswered for `replyTimeoutMs` (hang), and its peak RSS is read
// from /proc. The run stops at the first crash or hang and says which.

import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryKiB, startDeviceServer, type DeviceServer } from './device-process.js';
import { qtestLine } from './random-lines.js';

export interface QtestFuzzOptions {
  /** Random lines to send in all (the huge and slow reads come on top). */
  lines: number;
  /** Clients sending side by side (default 4). */
  clients?: number;
  /** Lines per pipelined chunk (default 2000). */
  chunk?: number;
  seed?: number;
  /** Board preset or file for the server (default q35: it has 0xcf9, so resets happen too). */
  board?: string;
  /** A chunk whose replies have not all come in this long is a hang (default 60 s). */
  replyTimeoutMs?: number;
  /** Progress, one line now and then. */
  log?: (message: string) => void;
}

export interface QtestFuzzReport {
  /** Lines sent, random and injected. */
  linesSent: number;
  replies: number;
  /** Chunks with sixteen pipelined 16 MiB reads. */
  hugeChunks: number;
  /** Chunks read slowly: 32 reads of 1 MiB, replies taken a little at a time. */
  slowChunks: number;
  /** Bytes of replies received. */
  replyBytes: number;
  /** Replies that are not OK/FAIL/ERR lines, or that report an internal error (first 10). */
  badReplies: string[];
  /** The server exited during the run: its exit code or signal and the end of its stderr. */
  crash?: string;
  /** A chunk was not answered in time: which client, and how many replies were missing. */
  hang?: string;
  /** Peak RSS of the server (VmHWM), and its RSS once it listened. */
  peakRssKiB: number;
  startRssKiB: number;
  seconds: number;
}

const HUGE_READ = 'read 0x0 0x1000000';
const HUGE_B64READ = 'b64read 0x0 0x1000000';
const SLOW_READ = (i: number) => `read ${0x100000 + ((i * 0x9000) % 0xe00000)} 0x100000`;
const REPLY_START = /^(OK$|OK |FAIL |ERR )/;
const KEPT_REPLY_PREFIX = 200;

/** Counts reply lines on a socket and checks each one's start, without keeping whole lines. */
class ReplyCounter {
  replies = 0;
  bytes = 0;
  readonly bad: string[] = [];
  #head = '';
  #waiter: { count: number; resolve: () => void } | undefined;
  /** While set, the reader pauses the socket this long after each chunk it takes. */
  slowMs = 0;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      let start = 0;
      for (let end = chunk.indexOf(10); end >= 0; end = chunk.indexOf(10, start)) {
        this.#take(chunk, start, end);
        this.#lineDone();
        start = end + 1;
      }
      this.#take(chunk, start, chunk.length);
      if (this.slowMs > 0) {
        socket.pause();
        setTimeout(() => socket.resume(), this.slowMs);
      }
    });
  }

  /** Resolves once `count` replies in all have come. */
  until(count: number): Promise<void> {
    if (this.replies >= count) return Promise.resolve();
    return new Promise((resolve) => (this.#waiter = { count, resolve }));
  }

  #take(chunk: Buffer, start: number, end: number): void {
    if (this.#head.length < KEPT_REPLY_PREFIX && end > start) {
      const room = KEPT_REPLY_PREFIX - this.#head.length;
      this.#head += chunk.toString('latin1', start, Math.min(end, start + room));
    }
  }

  #lineDone(): void {
    const head = this.#head;
    this.#head = '';
    this.replies++;
    if ((!REPLY_START.test(head) || head.includes('Internal error')) && this.bad.length < 10)
      this.bad.push(head);
    if (this.#waiter && this.replies >= this.#waiter.count) {
      const { resolve } = this.#waiter;
      this.#waiter = undefined;
      resolve();
    }
  }
}

function connectTo(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: address.replace(/^unix:/, '') });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** BARs placed, decoding and bus mastering on, so random lines reach the devices too. */
function setUpLines(): string[] {
  const cfg = (slot: number, offset: number) => `outl 0xcf8 ${0x80000000 | (slot << 11) | offset}`;
  return [
    cfg(1, 0x20),
    'outl 0xcfc 0xe0000000',
    cfg(1, 0x04),
    'outw 0xcfc 6',
    cfg(2, 0x10),
    'outl 0xcfc 0xe1000000',
    cfg(2, 0x04),
    'outw 0xcfc 6',
  ];
}

class Stop extends Error {}

export async function runQtestFuzz(options: QtestFuzzOptions): Promise<QtestFuzzReport> {
  const clients = options.clients ?? 4;
  const chunk = options.chunk ?? 2000;
  const seed = options.seed ?? 1;
  const timeoutMs = options.replyTimeoutMs ?? 60_000;
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'viommu-fuzz-'));
  const started = Date.now();
  const report: QtestFuzzReport = {
    linesSent: 0,
    replies: 0,
    hugeChunks: 0,
    slowChunks: 0,
    replyBytes: 0,
    badReplies: [],
    peakRssKiB: 0,
    startRssKiB: 0,
    seconds: 0,
  };
  let server: DeviceServer | undefined;
  const sockets: Socket[] = [];
  const timers = new Set<NodeJS.Timeout>();
  try {
    // The clients, the silent one, and the one that checks the server is alive at the end.
    server = await startDeviceServer(options.board ?? 'q35', join(dir, 'fuzz.sock'), [
      '--max-clients',
      String(clients + 2),
    ]);
    const pid = server.process.pid!;
    report.startRssKiB = memoryKiB(pid, 'VmRSS');
    let stopped: string | undefined;
    const exited = new Promise<never>((_, reject) =>
      server!.process.once('exit', (code, signal) => {
        stopped ??= `exited with ${signal ?? code}; stderr ends: ${server!.stderr().slice(-2000)}`;
        reject(new Stop(stopped));
      }),
    );
    exited.catch(() => {});
    const idle = await connectTo(server.address);
    sockets.push(idle);

    let nextChunk = 0;
    let left = options.lines;
    const worker = async (client: number): Promise<void> => {
      const socket = await connectTo(server!.address);
      sockets.push(socket);
      socket.on('error', () => {});
      const counter = new ReplyCounter(socket);
      let expected = 0;
      const send = async (lines: string[], what: string) => {
        socket.write(lines.map((line) => `${line}\n`).join(''), 'latin1');
        expected += lines.length;
        report.linesSent += lines.length;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timers.delete(timer!);
            reject(
              new Stop(
                `client ${client}: ${expected - counter.replies} of the replies to a ${what} chunk missing after ${timeoutMs} ms`,
              ),
            );
          }, timeoutMs);
          timers.add(timer);
        });
        try {
          await Promise.race([counter.until(expected), timeout, exited]);
        } finally {
          clearTimeout(timer);
          timers.delete(timer!);
        }
      };
      await send(setUpLines(), 'set-up');
      while (left > 0 && stopped === undefined) {
        const index = nextChunk++;
        const count = Math.min(chunk, left);
        left -= count;
        const lines = fc.sample(qtestLine, { numRuns: count, seed: seed * 1_000_003 + index });
        if (index % 25 === 24) {
          lines.splice(count >> 1, 0, ...Array<string>(16).fill(HUGE_READ), HUGE_B64READ);
          report.hugeChunks++;
          await send(lines, 'huge-read');
        } else if (index % 7 === 6) {
          lines.push(...Array.from({ length: 32 }, (_, i) => SLOW_READ(index + i)));
          report.slowChunks++;
          counter.slowMs = 2;
          await send(lines, 'slow-reader');
          counter.slowMs = 0;
        } else {
          await send(lines, 'random');
        }
        if (index % 50 === 0)
          log(`chunk ${index}: ${report.linesSent} lines sent, ${options.lines - left} random`);
      }
      report.replies += counter.replies;
      report.replyBytes += counter.bytes;
      report.badReplies.push(...counter.bad.slice(0, 10 - report.badReplies.length));
    };
    try {
      await Promise.all(Array.from({ length: clients }, (_, i) => worker(i)));
      // Still alive and answering: the silent client's board is still there too.
      const last = await connectTo(server.address);
      sockets.push(last);
      const alive = new Promise<string>((resolve) => {
        let text = '';
        last.on('data', (data: Buffer) => {
          text += data.toString('latin1');
          if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
        });
      });
      last.write('endianness\n');
      const answer = await Promise.race([alive, exited]);
      if (answer !== 'OK little') report.badReplies.push(`endianness at the end: ${answer}`);
    } catch (error) {
      if (!(error instanceof Stop)) throw error;
      if (stopped !== undefined) report.crash = stopped;
      else report.hang = error.message;
    }
    if (report.crash === undefined) report.peakRssKiB = memoryKiB(pid, 'VmHWM');
  } finally {
    for (const timer of timers) clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  report.seconds = (Date.now() - started) / 1000;
  return report;
}
