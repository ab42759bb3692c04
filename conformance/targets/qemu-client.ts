// The qtest client of a QEMU we spawned: a command QEMU spins on is a hang as soon as QEMU's
// main thread has spent SPIN_CPU_MS of CPU time without answering anything, not only after the
// connection's host-time reply timeout.
//
// QEMU answers qtest from its main loop, which also runs the device models: a request that
// sends the device into an endless loop (QEMU 7.2's virtio-iommu on an UNMAP covering an
// inverted mapping) keeps the main thread on a CPU and qtest without replies. A reply costs QEMU
// microseconds of CPU (a 64 KiB b64write well under a millisecond), so half a CPU second without
// one is a spin, whatever the host's load: counted in QEMU's own CPU time, the decision does not
// come sooner on a busy machine, only later. A QEMU that stops answering without spinning
// (blocked, stopped) is left to the reply timeout as before; where the CPU time cannot be read
// (no /proc), only the reply timeout applies.

import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { QtestClient } from '../qtest/client.js';
import { commandText, type DataLine, type QtestConnectionOptions } from '../qtest/connection.js';
import { QtestTimeoutError } from '../qtest/errors.js';

/** CPU time QEMU's main thread may spend without answering before it is taken as hung. */
export const SPIN_CPU_MS = 500;
/** How often the CPU time is read while commands are outstanding. */
const SPIN_CHECK_MS = 50;

/** No reply while QEMU spent SPIN_CPU_MS of CPU time: the device hung, spinning. */
export class QemuSpinningError extends QtestTimeoutError {
  constructor(command: string, cpuMs: number, wallMs: number) {
    super(command, Math.round(wallMs));
    this.message = `qtest command '${command}': no reply while QEMU spent ${Math.round(cpuMs)} ms of CPU time in ${Math.round(wallMs)} ms (device hung, spinning)`;
  }
}

/** CPU time of the process's main thread in ms, or undefined where it cannot be read. */
export function mainThreadCpuMs(pid: number): number | undefined {
  try {
    // schedstat: ns on the CPU, ns waiting, timeslices; the main thread's, per thread group leader.
    const onCpu = Number(readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[0]);
    return Number.isFinite(onCpu) ? onCpu / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

export class QemuQtestClient extends QtestClient {
  readonly #cpuMs: () => number | undefined;
  /** Commands sent and not yet answered, oldest first. */
  #outstanding: Array<string | DataLine> = [];
  #replies = 0;
  /** Replies counted and CPU time read at the last check that saw progress. */
  #since: { replies: number; cpuMs: number; at: number } | undefined;
  #watch: NodeJS.Timeout | undefined;
  /** Set once QEMU was found spinning: what it spent, for the errors of later commands. */
  #spinning: { cpuMs: number; wallMs: number } | undefined;
  #failSpinning: ((error: QemuSpinningError) => void) | undefined;
  readonly #spun: Promise<never>;

  constructor(socket: Socket, options: QtestConnectionOptions, cpuMs: () => number | undefined) {
    super(socket, options);
    this.#cpuMs = cpuMs;
    this.#spun = new Promise<never>((_, reject) => (this.#failSpinning = reject));
    this.#spun.catch(() => undefined);
  }

  override command(line: string | DataLine): Promise<string> {
    if (this.#spinning !== undefined) {
      const { cpuMs, wallMs } = this.#spinning;
      return Promise.reject(new QemuSpinningError(commandText(line), cpuMs, wallMs));
    }
    const reply = super.command(line);
    this.#outstanding.push(line);
    this.#watch ??= setInterval(() => this.#check(), SPIN_CHECK_MS).unref();
    const done = (): void => {
      this.#replies++;
      // Replies come in order, so the first command with this text is the one answered.
      const index = this.#outstanding.indexOf(line);
      if (index !== -1) this.#outstanding.splice(index, 1);
    };
    reply.then(done, done);
    return Promise.race([reply, this.#spun]);
  }

  override async close(): Promise<void> {
    if (this.#watch !== undefined) clearInterval(this.#watch);
    this.#watch = undefined;
    await super.close();
  }

  #check(): void {
    const oldest = this.#outstanding[0];
    if (oldest === undefined || this.closed) {
      this.#since = undefined;
      return;
    }
    const cpuMs = this.#cpuMs();
    if (cpuMs === undefined) return;
    const now = performance.now();
    if (this.#since === undefined || this.#since.replies !== this.#replies) {
      this.#since = { replies: this.#replies, cpuMs, at: now };
      return;
    }
    const spent = cpuMs - this.#since.cpuMs;
    if (spent < SPIN_CPU_MS) return;
    const wallMs = now - this.#since.at;
    this.#spinning = { cpuMs: spent, wallMs };
    const error = new QemuSpinningError(commandText(oldest), spent, wallMs);
    clearInterval(this.#watch);
    this.#watch = undefined;
    this.#failSpinning?.(error);
  }
}
