// `--target ref|qemu|unix:PATH|tcp:HOST:PORT` → a factory of fresh targets.

import { execFileSync } from 'node:child_process';
import { QEMU_DEFAULT_BINARY, QemuTarget } from './qemu.js';
import { QemuReserve } from './qemu-reserve.js';
import { RefServerPool } from './ref.js';
import { SocketTarget, formatSocketAddress, parseSocketAddress } from './socket.js';
import type { JudgeWindow, Target } from './target.js';

export interface TargetChoice {
  /** `ref`, `qemu`, `unix:PATH` or `tcp:HOST:PORT`. */
  target: string;
  /** The QEMU binary (`--qemu`). */
  qemu?: string;
  /** More QEMU arguments (`--qemu-arg`). */
  qemuArgs?: readonly string[];
  /** device-ref's board for `ref` (`--board`): a preset name or a JSON file. */
  board?: string;
  /** What the DMA judge watches (`--judge-window`); default all RAM on ref, else near. */
  judgeWindow?: JudgeWindow;
}

/**
 * QEMUs under test at once. A test spends most of its time waiting for round trips, and
 * where it waits for nothing to happen (a request never answered, a hang) it waits in host
 * time, so four share two cores well.
 */
export const QEMU_LANES = 4;

/**
 * Tests on device-ref at once, each on a device-ref process of its own (RefServerPool): two
 * keep the suite and the devices busy on two cores where one test at a time would leave
 * them waiting for each other's round trips.
 */
export const REF_LANES = 2;

/** The QEMU target's second edu: the endpoint `@ep2` names. */
export const QEMU_SECOND_ENDPOINT = ['-device', 'edu'];

export interface SelectedTarget {
  /** The target's name in reports: `ref`, `qemu`, or the address. */
  name: string;
  /** For reports: what the target is, with QEMU's version and arguments. */
  description: string;
  /** A fresh target for one test. */
  make: () => Target;
  /**
   * How many tests may run at once, each on its own target: a device-ref serves one
   * connection at a time (the ref target has one per lane), each QEMU is a process of its own.
   */
  lanes: number;
  /**
   * Ends the run: closes every target make() gave that is still open (a QEMU each) and what
   * they share (device-ref's process). Use withTarget() rather than calling it yourself.
   */
  close: () => Promise<void>;
}

export function selectTarget(choice: TargetChoice): SelectedTarget {
  checkOptionsApply(choice);
  if (choice.target === 'ref') {
    // A device-ref per lane for the run; each gives every test's connection a fresh board.
    const pool = new RefServerPool(
      REF_LANES,
      choice.board === undefined ? {} : { board: choice.board },
    );
    // Started now, so that device-ref's start-up overlaps the caller's own (loading the
    // cases, building the suite) rather than following it.
    pool.warmUp();
    return {
      name: 'ref',
      description: pool.description,
      make: () => pool.target(choice.judgeWindow),
      lanes: REF_LANES,
      close: () => pool.close(),
    };
  }
  if (choice.target === 'qemu') {
    const binary = choice.qemu ?? QEMU_DEFAULT_BINARY;
    const extraArgs = [...QEMU_SECOND_ENDPOINT, ...(choice.qemuArgs ?? [])];
    return {
      name: 'qemu',
      description: `${qemuVersion(binary)}: -M q35 -device virtio-iommu-pci -device edu ${extraArgs.join(' ')}`,
      lanes: QEMU_LANES,
      ...reservedQemus(() => new QemuTarget({ binary, extraArgs }), choice.judgeWindow),
    };
  }
  const address = parseSocketAddress(choice.target);
  const name = formatSocketAddress(address);
  return {
    name,
    description: name,
    lanes: 1, // a socket server may serve one connection at a time
    ...trackOpenTargets(() => new SocketTarget(address), choice.judgeWindow),
  };
}

/**
 * make() and close() for QEMUs started ahead (QemuReserve): one for each lane's next test,
 * started now so that the first ones overlap the run's own start-up.
 */
function reservedQemus(
  create: () => QemuTarget,
  judgeWindow: JudgeWindow | undefined,
): Pick<SelectedTarget, 'make' | 'close'> {
  const reserve = new QemuReserve(create, QEMU_LANES);
  reserve.warmUp();
  return { make: () => reserve.target(judgeWindow), close: () => reserve.close() };
}

/**
 * make() and close() for targets that own their process: close() closes those still open.
 * Each target made gets the DMA judge window the run asks for, if it asks.
 */
function trackOpenTargets(
  create: () => Target,
  judgeWindow: JudgeWindow | undefined,
): Pick<SelectedTarget, 'make' | 'close'> {
  const open = new Set<Target>();
  let closed = false;
  const make = (): Target => {
    const target = create();
    return {
      description: target.description,
      get ramSize() {
        return target.ramSize;
      },
      ...(target.chipset !== undefined && { chipset: target.chipset }),
      ...(judgeWindow !== undefined && { judgeWindow }),
      start: async () => {
        if (closed) throw new Error(`${target.description}: already closed`);
        open.add(target);
        return target.start();
      },
      close: async () => {
        open.delete(target);
        await target.close();
      },
    };
  };
  const close = async (): Promise<void> => {
    closed = true;
    const closing = [...open].map((target) => target.close());
    open.clear();
    await Promise.all(closing);
  };
  return { make, close };
}

/** An option that does not apply to the chosen target is a mistake worth saying, not ignoring. */
function checkOptionsApply(choice: TargetChoice): void {
  const misplaced = [
    choice.board !== undefined && choice.target !== 'ref' && '--board applies to --target ref only',
    choice.qemu !== undefined && choice.target !== 'qemu' && '--qemu applies to --target qemu only',
    (choice.qemuArgs?.length ?? 0) > 0 &&
      choice.target !== 'qemu' &&
      '--qemu-arg applies to --target qemu only',
  ].filter((problem): problem is string => problem !== false);
  if (misplaced.length > 0) {
    throw new Error(
      `${misplaced.join('; ')} (the target is ${choice.target}); drop it or change --target`,
    );
  }
}

/** The first line of `qemu --version`, or why there is none. */
export function qemuVersion(binary: string): string {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 })
      .split('\n')[0]!
      .trim();
  } catch (error) {
    return `${binary} (no version: ${(error as Error).message.split('\n')[0]})`;
  }
}
