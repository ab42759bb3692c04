// A device under test that runs as a child process (QEMU, device-ref): what it prints is kept
// for error messages, its end is told in words, and it is killed on stop() or when we exit,
// so that a crashed test leaves no device behind.

import { spawn, type ChildProcess } from 'node:child_process';

/** Keep this much of the device's output (stdout + stderr) for error messages. */
const OUTPUT_LIMIT = 16 * 1024;

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class DeviceProcess {
  readonly #child: ChildProcess;
  /** Settles once the process has ended and its output is drained. */
  readonly exited: Promise<void>;
  #output = '';
  #exitStatus: string | undefined;

  /** `onOutput` sees everything printed so far, after each chunk. */
  constructor(command: string, args: readonly string[], onOutput?: (output: string) => void) {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    running.add(child);
    const collect = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
      onOutput?.(this.#output);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        running.delete(child);
        this.#exitStatus = `could not be started: ${error.message}`;
        resolve();
      });
      // 'close' comes after the exit and after stdout/stderr are drained.
      child.once('close', (code, signal) => {
        running.delete(child);
        this.#exitStatus = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The last 16 KiB of what the process printed. */
  get output(): string {
    return this.#output;
  }

  /** How the process ended (`exited with code 1`, `was killed by SIGABRT`), or undefined. */
  get exitStatus(): string | undefined {
    return this.#exitStatus;
  }

  /** `; its output:\n…` for an error message, or nothing when it printed nothing. */
  outputText(): string {
    const text = this.#output.trim();
    return text === '' ? '' : `; its output:\n${text}`;
  }

  /** Kills the process if it still runs and waits for its end. */
  async stop(): Promise<void> {
    if (this.#exitStatus === undefined) this.#child.kill('SIGKILL');
    await this.exited;
  }
}
