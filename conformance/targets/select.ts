// `--target ref|qemu|unix:PATH|tcp:HOST:PORT` → a factory of fresh targets.

import { execFileSync } from 'node:child_process';
import { QEMU_DEFAULT_BINARY, QemuTarget } from './qemu.js';
import { RefTarget } from './ref.js';
import { SocketTarget, formatSocketAddress, parseSocketAddress } from './socket.js';
import type { Target } from './target.js';

export interface TargetChoice {
  /** `ref`, `qemu`, `unix:PATH` or `tcp:HOST:PORT`. */
  target: string;
  /** The QEMU binary (`--qemu`). */
  qemu?: string;
  /** More QEMU arguments (`--qemu-arg`). */
  qemuArgs?: readonly string[];
  /** device-ref's board for `ref` (`--board`): a preset name or a JSON file. */
  board?: string;
}

/** The QEMU target's second edu: the endpoint `@ep2` names. */
export const QEMU_SECOND_ENDPOINT = ['-device', 'edu'];

export interface SelectedTarget {
  /** The target's name in reports: `ref`, `qemu`, or the address. */
  name: string;
  /** For reports: what the target is, with QEMU's version and arguments. */
  description: string;
  make: () => Target;
}

export function selectTarget(choice: TargetChoice): SelectedTarget {
  if (choice.target === 'ref') {
    const options = choice.board === undefined ? {} : { board: choice.board };
    return {
      name: 'ref',
      description: new RefTarget(options).description,
      make: () => new RefTarget(options),
    };
  }
  if (choice.target === 'qemu') {
    const binary = choice.qemu ?? QEMU_DEFAULT_BINARY;
    const extraArgs = [...QEMU_SECOND_ENDPOINT, ...(choice.qemuArgs ?? [])];
    return {
      name: 'qemu',
      description: `${qemuVersion(binary)}: -M q35 -device virtio-iommu-pci -device edu ${extraArgs.join(' ')}`,
      make: () => new QemuTarget({ binary, extraArgs }),
    };
  }
  const address = parseSocketAddress(choice.target);
  const name = formatSocketAddress(address);
  return { name, description: name, make: () => new SocketTarget(address) };
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
