// Target: the reference device (device-ref), driven over its qtest socket like any other
// device; conformance never imports device-ref, the two meet only over the socket.
//
// One `viommu device --board FILE --listen unix:PATH` process serves a whole run (RefServer):
// device-ref gives every connection a board of its own (fresh RAM, devices after reset,
// virtual time 0), so one connection per test (RefTarget) keeps "each test gets a fresh
// device" without paying for a process per test. A test that crashes the process fails on its
// own: the next connect() starts a new one. So does a test that leaves it stuck: a handshake
// that gets no answer from a running device-ref restarts it.
//
// The board is the q35 preset as QEMU shows it plus a second edu at 00:03.0, the same
// second endpoint (`@ep2`) the QEMU target gets from a second `-device edu`, with 3 MiB of
// RAM instead of 256: the DMA judge fills and reads back all of it in every test that judges
// DMA, so RAM is what the suite needs and no more. The suite's RAM starts at 0x110000, above the
// legacy hole (memory/guest-memory.ts); `@ram` is 1 MiB on a 2 MiB boundary, so it takes
// 2-3 MiB, and the staging page and the queues (264 KiB for the request queue, 6 KiB for the
// event queue) fill the gap below it: 0x4_4000 bytes with one driver, 0x8_7000 with the second
// driver of the system-reset test, so a test's own queues (2 × 64 KiB) still fit.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureName } from '../../dist/ts/index.js';
import { packageRoot } from '../package-root.js';
import { QtestClient } from '../qtest/client.js';
import { DeviceProcess } from './device-process.js';
import { connectSocket, DEFAULT_CONNECT_TIMEOUT_MS } from './socket.js';
import { handshake, TargetUnreachableError, type JudgeWindow, type Target } from './target.js';

export const REF_BOARD = {
  name: 'q35-two-edu',
  description: 'The q35 preset with a second edu endpoint at 00:03.0 (the conformance suite board)',
  ram_size: 0x30_0000,
  chipset: 'q35',
  iommu: {
    slot: 1,
    features: [
      'VIRTIO_IOMMU_F_INPUT_RANGE',
      'VIRTIO_IOMMU_F_DOMAIN_RANGE',
      'VIRTIO_IOMMU_F_MAP_UNMAP',
      'VIRTIO_IOMMU_F_PROBE',
      'VIRTIO_IOMMU_F_MMIO',
      'VIRTIO_IOMMU_F_BYPASS_CONFIG',
    ] satisfies FeatureName[],
    page_size_mask: '0xfffffffffffff000',
    input_range: { start: '0x0', end: '0xffffffffffffffff' },
    domain_range: { start: 0, end: 0xffff_ffff },
    probe_size: 512,
    bypass: true,
  },
  endpoints: [2, 3].map((slot) => ({
    slot,
    kind: 'edu',
    reserved_regions: [{ subtype: 'MSI', start: '0xfee00000', end: '0xfeefffff' }],
  })),
};

export interface RefServerOptions {
  /** A board preset name or JSON file; default: REF_BOARD. */
  board?: string;
  /** From spawn to `listening on …`. */
  startTimeoutMs?: number;
  replyTimeoutMs?: number;
}

/**
 * The RAM size of a board given to `viommu device --board`: a preset of device-ref/boards or
 * a JSON file, both with `ram_size` (device-ref checks the rest when it starts).
 */
function boardRamSize(board: string): number {
  const ramSize = readBoard(board).ram_size;
  if (typeof ramSize !== 'number' || !Number.isSafeInteger(ramSize) || ramSize <= 0) {
    throw new Error(`--board ${board}: ram_size is not a size in bytes`);
  }
  return ramSize;
}

/** The fields of a board file the target reads: device-ref checks the whole board itself. */
function readBoard(board: string): { ram_size?: unknown; chipset?: unknown } {
  const file = /^[\w-]+$/.test(board)
    ? join(packageRoot, 'device-ref', 'boards', `${board}.json`)
    : board;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { ram_size?: unknown; chipset?: unknown };
  } catch (error) {
    throw new Error(`--board ${board}: ${(error as Error).message}`, { cause: error });
  }
}

/** What `viommu device` prints once it accepts connections. */
const LISTENING = /listening on (unix:\S+)/;

/** A running device-ref and the address it listens on. */
interface RunningDevice {
  device: DeviceProcess;
  address: string;
}

/** The device-ref process of a run: started on the first connect(), again after it died. */
export class RefServer {
  readonly description: string;
  readonly #options: RefServerOptions;
  #ramSize: number | undefined;
  #chipset: { value: 'q35' | undefined } | undefined;
  /** Holds the board file and the socket; made once, removed by close(). */
  #dir: string | undefined;
  /** The latest device-ref, set as soon as it is spawned. */
  #device: DeviceProcess | undefined;
  /** Settles once the latest device-ref listens (or could not start). */
  #ready: Promise<RunningDevice> | undefined;
  #closed = false;

  constructor(options: RefServerOptions = {}) {
    this.#options = options;
    this.description = `device-ref (board ${options.board ?? REF_BOARD.name})`;
  }

  /**
   * Bytes of guest RAM on the board. Read from the board when first asked (after start()),
   * so a board device-ref cannot load is reported with what device-ref printed.
   */
  get ramSize(): number {
    const board = this.#options.board;
    return (this.#ramSize ??= board === undefined ? REF_BOARD.ram_size : boardRamSize(board));
  }

  /** The board's chipset: 'q35' when the board has one (REF_BOARD does). */
  get chipset(): 'q35' | undefined {
    const board = this.#options.board;
    this.#chipset ??= {
      value:
        (board === undefined ? REF_BOARD.chipset : readBoard(board).chipset) === 'q35'
          ? 'q35'
          : undefined,
    };
    return this.#chipset.value;
  }

  /** Process id of the running device-ref, if any (tests use it to stop or kill it). */
  get pid(): number | undefined {
    return this.#device?.running === true ? this.#device.pid : undefined;
  }

  /**
   * A new connection, which device-ref serves with a fresh board once the connections before
   * it have closed. Starts device-ref if it is not running.
   */
  async connect(): Promise<QtestClient> {
    if (this.#closed) throw new Error(`${this.description}: already closed`);
    const reused = this.#device?.running === true;
    try {
      return await this.#connectOnce();
    } catch (error) {
      if (!reused || this.#device?.running !== true) throw error;
      // It runs but does not answer: an earlier test left it stuck. Start afresh.
      await this.#stopDevice();
      return this.#connectOnce();
    }
  }

  /**
   * Starts device-ref now if it is not running, without connecting: its start-up (~0.2 s of
   * Node and module loading) then overlaps whatever the caller does before its first
   * connect(). A device-ref that cannot start is reported by that connect().
   */
  warmUp(): void {
    if (this.#closed) return;
    this.#running().catch(() => undefined);
  }

  /** Stops device-ref and removes its temp dir. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#stopDevice();
    const dir = this.#dir;
    this.#dir = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  async #connectOnce(): Promise<QtestClient> {
    const { device, address } = await this.#running();
    const since = device.printed;
    const socket = await connectSocket(
      { kind: 'unix', path: address.slice('unix:'.length) },
      DEFAULT_CONNECT_TIMEOUT_MS,
    );
    const client = new QtestClient(socket, {
      ...(this.#options.replyTimeoutMs !== undefined && {
        replyTimeoutMs: this.#options.replyTimeoutMs,
      }),
      explainClose: () => device.explainClose('device-ref', since),
    });
    await handshake(client, this.description);
    return client;
  }

  /** The running device-ref; starts one if there is none or the last one died. */
  async #running(): Promise<RunningDevice> {
    const current = this.#ready;
    if (current !== undefined) {
      const ready = await current.catch(() => undefined);
      if (ready?.device.running === true) return ready;
      // Another caller may have started a new one while we waited.
      if (this.#ready !== current) return this.#running();
    }
    this.#ready = this.#start();
    return this.#ready;
  }

  /**
   * Spawns device-ref before it first yields (the folder and board file are made
   * synchronously, a few hundred µs), so that warmUp() followed by synchronous work of the
   * caller overlaps the two; resolves once device-ref says where it listens.
   */
  async #start(): Promise<RunningDevice> {
    const dir = (this.#dir ??= mkdtempSync(join(tmpdir(), 'viommu-ref-')));
    let board = this.#options.board;
    if (board === undefined) {
      board = join(dir, 'board.json');
      writeFileSync(board, JSON.stringify(REF_BOARD));
    }
    const cli = join(packageRoot, 'build', 'cli', 'viommu.js');
    // --quiet: driver findings and a line per test, which nothing here reads, would wake this
    // process at every test; what a crash prints still comes.
    const args = [
      cli,
      'device',
      '--board',
      board,
      '--listen',
      `unix:${join(dir, 'qtest.sock')}`,
      '--quiet',
    ];
    const timeoutMs = this.#options.startTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    let found: ((address: string) => void) | undefined;
    const listening = new Promise<string>((resolve) => (found = resolve));
    const device = new DeviceProcess(process.execPath, args, {
      onOutput: (output) => {
        const match = found && LISTENING.exec(output);
        if (match) {
          found!(match[1]!);
          found = undefined; // it listens: stop scanning what it prints
        }
      },
    });
    this.#device = device;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([
      listening,
      device.exited.then(() => 'exited' as const),
      timedOut,
    ]);
    clearTimeout(timer);
    if (outcome !== 'exited' && outcome !== 'timeout') return { device, address: outcome };
    await device.stop();
    throw new TargetUnreachableError(
      outcome === 'exited'
        ? `${this.description} ${device.exitStatus} before listening${device.outputText()}`
        : `${this.description}: not listening within ${timeoutMs} ms${device.outputText()}`,
    );
  }

  async #stopDevice(): Promise<void> {
    const ready = this.#ready;
    this.#ready = undefined;
    this.#device = undefined;
    await (await ready?.catch(() => undefined))?.device.stop();
  }
}

/**
 * device-ref processes for tests that run side by side: each serves its connections one
 * after another, so a test takes a process no other open test uses. Two of them keep both
 * cores busy: a test spends much of its time in round trips, where the suite and its
 * device-ref wait for each other.
 */
export class RefServerPool {
  readonly #servers: RefServer[];
  readonly #busy = new Set<RefServer>();

  constructor(
    readonly size: number,
    options: RefServerOptions = {},
  ) {
    this.#servers = Array.from({ length: size }, () => new RefServer(options));
  }

  get description(): string {
    return this.#servers[0]!.description;
  }

  /** A target on a device-ref no open target of the pool uses; it is free again on close(). */
  target(judgeWindow?: JudgeWindow): RefTarget {
    const server = this.#servers.find((candidate) => !this.#busy.has(candidate));
    if (server === undefined) {
      throw new Error(`${this.description}: all ${this.size} device-refs serve a test`);
    }
    this.#busy.add(server);
    return new RefTarget(server, judgeWindow, () => this.#busy.delete(server));
  }

  /** Starts every device-ref of the pool (RefServer.warmUp()). */
  warmUp(): void {
    for (const server of this.#servers) server.warmUp();
  }

  /** Stops every device-ref of the pool. */
  async close(): Promise<void> {
    await Promise.all(this.#servers.map((server) => server.close()));
  }
}

/**
 * The most RAM the judge watches whole by default: every judged write is followed by a read
 * of all of it (~3 ms per MiB on device-ref), so a 256 MiB preset is watched `near` instead.
 */
export const ALL_RAM_WINDOW_MAX = 0x100_0000;

/** One test's connection to the run's device-ref: a fresh board, closed by close(). */
export class RefTarget implements Target {
  readonly description: string;
  readonly #judgeWindow: JudgeWindow | undefined;
  readonly #server: RefServer;
  readonly #onClose: (() => void) | undefined;
  #client: QtestClient | undefined;

  /**
   * `judgeWindow`: by default all RAM on a board of at most ALL_RAM_WINDOW_MAX (REF_BOARD has
   * 3 MiB), `near` on a larger one; `onClose`: told once closed.
   */
  constructor(server: RefServer, judgeWindow?: JudgeWindow, onClose?: () => void) {
    this.#server = server;
    this.description = server.description;
    this.#judgeWindow = judgeWindow;
    this.#onClose = onClose;
  }

  get judgeWindow(): JudgeWindow {
    return this.#judgeWindow ?? (this.ramSize <= ALL_RAM_WINDOW_MAX ? 'all-ram' : 'near');
  }

  get ramSize(): number {
    return this.#server.ramSize;
  }

  get chipset(): 'q35' | undefined {
    return this.#server.chipset;
  }

  async start(): Promise<QtestClient> {
    if (this.#client !== undefined) throw new Error(`${this.description}: already started`);
    this.#client = await this.#server.connect();
    return this.#client;
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    try {
      await client?.close();
    } finally {
      this.#onClose?.();
    }
  }
}
