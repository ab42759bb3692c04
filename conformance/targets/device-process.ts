// A device under test that runs as a child process (QEMU, device-ref): what it prints is kept
// for error messages, its end is told in words, and it is killed on stop() or when we exit,
// so that a crashed test leaves no device behind.

import { spawn, type ChildProcess } from 'node:child_process';
import type { CloseExplanation } from '../qtest/connection.js';
import { describeEnd, type Launcher } from './launcher.js';

/** Keep this much of the device's output (stdout + stderr) for error messages. */
const OUTPUT_LIMIT = 16 * 1024;

/** How long explainClose() waits for the exit status: the socket can close before the exit. */
const EXIT_GRACE_MS = 1000;

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface DeviceProcessOptions {
  /** Sees everything printed so far, after each chunk. */
  onOutput?: (output: string) => void;
  /** Start it through this launcher process (launcher.ts) rather than spawn it here. */
  launcher?: Launcher;
}

export class DeviceProcess {
  /** Sends SIGKILL. */
  readonly #kill: () => void;
  #pid: number | undefined;
  /** Settles once the process has ended and its output is drained. */
  readonly exited: Promise<void>;
  /** Settles once `pid` is known, or the process has ended without one. */
  readonly spawned: Promise<void>;
  /** Set when it was killed because its launcher died: the suite's failure, not the device's. */
  #lost = false;
  #output = '';
  /** How many characters of output were dropped from the front of #output. */
  #dropped = 0;
  #exitStatus: string | undefined;

  /**
   * On Linux the process is started through setpriv (util-linux) with a parent-death signal,
   * so it dies with us even when we are killed without a chance to clean up (our exit hook
   * covers the other cases). With a `launcher`, the launcher process starts it: `pid` is known
   * a moment later (`spawned`).
   */
  constructor(
    command: string,
    args: readonly string[],
    { onOutput, launcher }: DeviceProcessOptions = {},
  ) {
    const collect = (text: string): void => {
      const output = this.#output + text;
      const cut = Math.max(0, output.length - OUTPUT_LIMIT);
      this.#output = output.slice(cut);
      this.#dropped += cut;
      onOutput?.(this.#output);
    };
    let known!: () => void;
    this.spawned = new Promise<void>((resolve) => (known = resolve));
    let ended!: (status: string) => void;
    this.exited = new Promise<void>((resolve) => {
      ended = (status) => {
        // A process that cannot be started emits 'error' and then 'close': the first one counts.
        if (this.#exitStatus !== undefined) return;
        this.#exitStatus = status;
        known();
        resolve();
      };
    });
    if (launcher !== undefined) {
      const launched = launcher.launch(command, args, {
        spawned: (pid) => {
          this.#pid = pid;
          known();
        },
        output: collect,
        ended: (status, lost) => {
          this.#lost ||= lost;
          ended(status);
        },
      });
      this.#kill = () => launched.kill();
      return;
    }
    const child =
      process.platform === 'linux'
        ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], { stdio: PIPES })
        : spawn(command, args, { stdio: PIPES });
    this.#pid = child.pid;
    known();
    this.#kill = () => child.kill('SIGKILL');
    running.add(child);
    child.stdout!.on('data', (chunk: Buffer) => collect(chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => collect(chunk.toString('utf8')));
    child.once('error', (error) => {
      running.delete(child);
      ended(`could not be started: ${error.message}`);
    });
    // 'close' comes after the exit and after stdout/stderr are drained.
    child.once('close', (code, signal) => {
      running.delete(child);
      ended(describeEnd(code, signal));
    });
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  /** The last 16 KiB of what the process printed. */
  get output(): string {
    return this.#output;
  }

  /** How much the process has printed so far: a mark for outputText(since). */
  get printed(): number {
    return this.#dropped + this.#output.length;
  }

  /** How the process ended (`exited with code 1`, `was killed by SIGABRT`), or undefined. */
  get exitStatus(): string | undefined {
    return this.#exitStatus;
  }

  get running(): boolean {
    return this.#exitStatus === undefined;
  }

  /**
   * `; its output:\n…` for an error message (what it printed after the mark `since`, within
   * the last 16 KiB), or nothing when it printed nothing.
   */
  outputText(since = 0): string {
    const text = this.#output.slice(Math.max(0, since - this.#dropped)).trim();
    return text === '' ? '' : `; its output:\n${text}`;
  }

  /**
   * Why the device closed a qtest connection, for the client's errors: `NAME was killed by
   * SIGABRT; its output: …`, or that it still runs; `bySuite` when it was lost with its
   * launcher. Output is taken from the mark `since`.
   */
  async explainClose(name: string, since = 0): Promise<CloseExplanation> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exited,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, EXIT_GRACE_MS))),
    ]);
    clearTimeout(timer);
    const detail = this.running
      ? `${name} closed the qtest connection but is still running${this.outputText(since)}`
      : `${name} ${this.#exitStatus}${this.outputText(since)}`;
    return { detail, bySuite: this.#lost };
  }

  /** Kills the process if it still runs and waits for its end. */
  async stop(): Promise<void> {
    if (this.running) this.#kill();
    await this.exited;
  }
}

const PIPES: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
