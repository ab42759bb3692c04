// Target: a QEMU we spawn, q35 with virtio-iommu-pci and edu, driven over -qtest.
//
// Our side listens on a Unix socket in a fresh temp dir and QEMU connects to it, so there
// is no polling for a socket file. QEMU boots our halt firmware (firmware.ts) instead of
// SeaBIOS, and `-icount shift=0,sleep=off` lets virtual time skip ahead to the next timer
// while the halted vCPU idles, so device timers (edu's DMA) cost no host time. With both, the
// target vouches for a warped clock (qtest/device-clock.ts): waits for something that may not
// come end once QEMU has settled rather than at a host-time deadline, and a command QEMU spins
// on is a hang after half a second of QEMU's CPU time (qemu-client.ts). close() kills QEMU and
// removes the temp dir, also while start() is under way; a process-exit hook kills any QEMU a
// crashed test left behind. See QEMU-NOTES.md for why each argument is there.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { QtestClient } from '../qtest/client.js';
import { declareWarpedClock } from '../qtest/device-clock.js';
import { DeviceProcess } from './device-process.js';
import { sharedLauncher } from './launcher.js';
import { mainThreadCpuMs, QemuQtestClient } from './qemu-client.js';
import { buildHaltFirmware } from './firmware.js';
import { handshake, TargetUnreachableError, type Target } from './target.js';

export const QEMU_DEFAULT_BINARY = 'qemu-system-x86_64';
export const DEFAULT_START_TIMEOUT_MS = 10000;
/** QEMU's `-m`: 256 MiB. */
export const QEMU_RAM_SIZE = 0x1000_0000;

export interface QemuTargetOptions {
  /** The QEMU binary (a name on PATH or a path). */
  binary?: string;
  /** Appended to the standard command line, e.g. `['-device', 'edu,dma_mask=…']`. */
  extraArgs?: readonly string[];
  /** From spawn to the first qtest reply. */
  startTimeoutMs?: number;
  replyTimeoutMs?: number;
}

/**
 * The command line, minus the binary: q35, no default devices, our firmware, qtest on the
 * given chardev (`unix:PATH` to connect to us; `…,server=on,wait=off` to listen instead).
 */
export function qemuArguments(
  firmwarePath: string,
  qtestChardev: string,
  extraArgs: readonly string[] = [],
): string[] {
  // prettier-ignore
  return [
    // No i8254 PIT: unprogrammed, it still ticks 18.2 times a (virtual) second, and with
    // icount sleep=off below virtual time would race through those ticks and burn a core.
    '-M', 'q35,pit=off',
    '-display', 'none',
    '-nodefaults',
    '-m', `${QEMU_RAM_SIZE / 0x10_0000}M`,
    '-bios', firmwarePath,
    '-qtest', qtestChardev,
    '-qtest-log', '/dev/null',
    // Virtual time that jumps to the next timer whenever the (halted) vCPU idles, instead of
    // following host time: an edu transfer's 100 ms timer fires at once. Debian's QEMU has no
    // qtest accelerator (no clock_step), so this is how its clock gets out of the way.
    '-icount', 'shift=0,sleep=off',
    '-device', 'virtio-iommu-pci',
    '-device', 'edu',
    ...extraArgs,
  ];
}

/**
 * Options that may change what the warped clock rests on (a halted vCPU, icount without sleep,
 * device work in the main loop): with any of them among the extra arguments, waits on this
 * QEMU fall back to host-time deadlines.
 */
const OPTIONS_VOIDING_THE_WARP = new Set([
  '-icount',
  '-accel',
  '-enable-kvm',
  '-machine',
  '-M',
  '-bios',
  '-S',
  '-smp',
  '-object',
  '-incoming',
]);

/** True when QEMU started with these extra arguments warps its virtual clock as qemuArguments() sets it up. */
export function warpsItsClock(extraArgs: readonly string[]): boolean {
  return !extraArgs.some((arg) => OPTIONS_VOIDING_THE_WARP.has(arg.replace(/^--/, '-')));
}

export class QemuTarget implements Target {
  readonly description: string;
  readonly ramSize = QEMU_RAM_SIZE;
  readonly chipset = 'q35';
  readonly #binary: string;
  readonly #options: QemuTargetOptions;
  #dir: string | undefined;
  #process: DeviceProcess | undefined;
  #client: QtestClient | undefined;
  #startupMs: number | undefined;
  /** The start() under way, if any: close() lets it unwind before it removes the temp dir. */
  #starting: Promise<QtestClient> | undefined;
  /** Set by close(); start() looks at it after each wait and gives up. */
  #closing = false;

  constructor(options: QemuTargetOptions = {}) {
    this.#binary = options.binary ?? QEMU_DEFAULT_BINARY;
    this.#options = options;
    this.description = `qemu (${this.#binary})`;
  }

  /** Process id of the running QEMU, if any (tests use it to stop or kill QEMU). */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Milliseconds from spawning QEMU to its first qtest reply, once started. */
  get startupMs(): number | undefined {
    return this.#startupMs;
  }

  /** What QEMU printed so far (last 16 KiB of stdout and stderr). */
  get output(): string {
    return this.#process?.output ?? '';
  }

  start(): Promise<QtestClient> {
    if (this.#starting !== undefined || this.#dir !== undefined) {
      return Promise.reject(new Error(`${this.description}: already started`));
    }
    this.#closing = false;
    const starting = this.#start();
    this.#starting = starting;
    void starting
      .catch(() => undefined)
      .finally(() => {
        if (this.#starting === starting) this.#starting = undefined;
      });
    return starting;
  }

  async #start(): Promise<QtestClient> {
    const dir = await mkdtemp(join(tmpdir(), 'viommu-qemu-'));
    this.#dir = dir;
    try {
      this.#giveUpIfClosing();
      const firmwarePath = join(dir, 'halt.bin');
      const socketPath = join(dir, 'qtest.sock');
      await writeFile(firmwarePath, buildHaltFirmware());
      this.#giveUpIfClosing();
      const server = createServer();
      await listen(server, socketPath);
      const began = performance.now();
      const args = qemuArguments(firmwarePath, `unix:${socketPath}`, this.#options.extraArgs);
      let socket: Socket;
      try {
        this.#giveUpIfClosing();
        // Through the launcher: a spawn from the suite, grown large by then, costs it ms.
        this.#process = new DeviceProcess(this.#binary, args, { launcher: sharedLauncher() });
        socket = await this.#accept(
          this.#process,
          server,
          this.#options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
        );
      } finally {
        server.close();
      }
      const qemu = this.#process;
      // QEMU connected, so it was spawned; the launcher's word on its pid may still be on its way.
      await qemu.spawned;
      const client = new QemuQtestClient(
        socket,
        {
          ...(this.#options.replyTimeoutMs !== undefined && {
            replyTimeoutMs: this.#options.replyTimeoutMs,
          }),
          explainClose: async () =>
            (await this.#process?.explainClose('QEMU')) ?? 'QEMU is not running',
        },
        () => (qemu.pid === undefined ? undefined : mainThreadCpuMs(qemu.pid)),
      );
      this.#client = client;
      if (warpsItsClock(this.#options.extraArgs ?? [])) declareWarpedClock(client);
      await handshake(client, this.description);
      this.#giveUpIfClosing();
      this.#startupMs = performance.now() - began;
      return client;
    } catch (error) {
      await this.#release();
      throw error;
    }
  }

  #giveUpIfClosing(): void {
    if (this.#closing) throw new Error(`${this.description}: closed during start-up`);
  }

  /** Kills QEMU and removes the temp dir, also when called while start() is under way. */
  async close(): Promise<void> {
    this.#closing = true;
    // A QEMU already spawned dies now, so a start() waiting for it gives up at once.
    await this.#process?.stop();
    await this.#starting?.catch(() => undefined);
    await this.#release();
  }

  async #release(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
    await this.#process?.stop();
    const dir = this.#dir;
    this.#dir = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  /** Waits for QEMU to connect, or fails with its exit status and output if it dies first. */
  #accept(qemu: DeviceProcess, server: Server, timeoutMs: number): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new TargetUnreachableError(
              `${this.description}: no qtest connection within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      server.once('connection', (socket) => {
        clearTimeout(timer);
        resolve(socket);
      });
      void qemu.exited.then(() => {
        clearTimeout(timer);
        reject(
          new TargetUnreachableError(
            `${this.description} ${qemu.exitStatus} before connecting${qemu.outputText()}`,
          ),
        );
      });
    });
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}
