// The guest's data port: the sections /init prints (guest/init-script.ts), split apart and
// read: the features the driver negotiated (from sysfs), the guest's RAM (/proc/iomem) and
// the trace buffer.

import { SECTION } from '../guest/init-script.js';

export interface GuestChannel {
  /** The 64 feature bits the virtio-iommu driver negotiated, if sysfs had them. */
  negotiatedFeatures?: bigint;
  ram: { start: bigint; end: bigint }[];
  /** The trace text, unparsed (capture/guest-trace.ts reads it). */
  trace: string;
}

export function parseGuestChannel(text: string): GuestChannel {
  const lines = text.replace(/\r/g, '').split('\n');
  const at = (marker: string): number => lines.indexOf(marker);
  const order = [SECTION.features, SECTION.ram, SECTION.trace, SECTION.end].map(at);
  if (order.some((i) => i < 0) || order.some((i, k) => k > 0 && i < order[k - 1]!)) {
    const missing = Object.values(SECTION).filter((m) => at(m) < 0);
    throw new Error(
      `the guest's data port is incomplete${missing.length ? ` (no ${missing.join(', ')})` : ''}: the workload did not finish`,
    );
  }
  const [features, ram, trace, end] = order as [number, number, number, number];
  const bits = lines.slice(features + 1, ram).find((l) => /^[01]{64}$/.test(l.trim()));
  return {
    ...(bits && {
      negotiatedFeatures: [...bits.trim()].reduce(
        (acc, c, i) => (c === '1' ? acc | (1n << BigInt(i)) : acc),
        0n,
      ),
    }),
    ram: lines.slice(ram + 1, trace).flatMap((l) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+) : System RAM/.exec(l);
      return m ? [{ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`) }] : [];
    }),
    trace: lines.slice(trace + 1, end).join('\n'),
  };
}
