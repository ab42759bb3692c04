// The BARs of the functions the platform brings along, which the suite relies on as QEMU 7.2
// makes them: edu's BAR0 is 1 MiB of 32-bit, non-prefetchable memory (hw/misc/edu.c). Checked
// right after sizing, before anything is placed, so a board whose edu has another BAR0 is a
// broken platform, not a suite that cannot place it.

import { EDU_DEVICE_ID, EDU_VENDOR_ID } from '../edu/edu.js';
import type { BarInfo } from './bars.js';
import { formatPciAddress } from './config.js';
import type { PciFunction } from './enumerate.js';
import { PlatformBrokenError } from './platform-broken.js';

interface ExpectedBar {
  index: number;
  kind: BarInfo['kind'];
  prefetchable: boolean;
  size: bigint;
}

const PLATFORM_FUNCTIONS: ReadonlyArray<{
  vendorId: number;
  deviceId: number;
  name: string;
  bars: readonly ExpectedBar[];
}> = [
  {
    vendorId: EDU_VENDOR_ID,
    deviceId: EDU_DEVICE_ID,
    name: 'edu',
    bars: [{ index: 0, kind: 'memory32', prefetchable: false, size: 0x10_0000n }],
  },
];

function describe(bar: ExpectedBar | BarInfo | undefined): string {
  if (bar === undefined) return 'nothing';
  const prefetch = bar.prefetchable ? 'prefetchable' : 'non-prefetchable';
  return `a ${bar.kind} ${prefetch} BAR of 0x${bar.size.toString(16)} bytes`;
}

/** Throws a PlatformBrokenError when a platform function's sized BARs are not QEMU's. */
export function checkPlatformBars(info: PciFunction, bars: readonly BarInfo[]): void {
  const known = PLATFORM_FUNCTIONS.find(
    (fn) => fn.vendorId === info.vendorId && fn.deviceId === info.deviceId,
  );
  if (known === undefined) return;
  for (const want of known.bars) {
    const got = bars.find((bar) => bar.index === want.index);
    const same =
      got !== undefined &&
      got.kind === want.kind &&
      got.prefetchable === want.prefetchable &&
      got.size === want.size;
    if (!same)
      throw new PlatformBrokenError(
        `${known.name} ${formatPciAddress(info.address)}: BAR${want.index} sizes as ${describe(got)}, not ${describe(want)} as on QEMU (write all ones, read back)`,
      );
  }
}
