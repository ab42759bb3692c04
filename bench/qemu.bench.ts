// How fast the QEMU target is, layer by layer: start-up, one qtest command at a time vs.
// pipelined, a virtio-iommu request through the split virtqueue, and one edu DMA transfer.
// The QEMUs come from withTarget, which ends them and removes their temp dirs on Ctrl-C too.
// Run: npm run bench -- qemu.bench (or node build/bench/qemu.bench.js)

import { performance } from 'node:perf_hooks';
import { EduDevice } from '../conformance/edu/edu.js';
import { GuestMemory, suiteRegion } from '../conformance/memory/guest-memory.js';
import { PciBus } from '../conformance/pci/bus.js';
import { QEMU_RAM_SIZE } from '../conformance/targets/qemu.js';
import { withTarget } from '../conformance/targets/with-target.js';
import { featureBit } from '../conformance/virtio/constants.js';
import { SplitVirtqueue } from '../conformance/virtio/split-virtqueue.js';
import { attachRequest, openVirtioIommu } from '../conformance/test/support/virtio-iommu.js';

interface Row {
  measure: string;
  samples: number;
  'median (µs)': number;
  'min (µs)': number;
  'max (µs)': number;
}

function summarize(measure: string, microseconds: number[]): Row {
  const sorted = [...microseconds].sort((a, b) => a - b);
  const round = (value: number): number => Math.round(value * 10) / 10;
  return {
    measure,
    samples: sorted.length,
    'median (µs)': round(sorted[Math.floor(sorted.length / 2)]!),
    'min (µs)': round(sorted[0]!),
    'max (µs)': round(sorted[sorted.length - 1]!),
  };
}

async function timeEach(count: number, run: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const began = performance.now();
    await run();
    samples.push((performance.now() - began) * 1000);
  }
  return samples;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  await withTarget({ target: 'qemu' }, async (selected) => {
    const startups: number[] = [];
    const closes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const target = selected.make();
      let began = performance.now();
      await target.start();
      startups.push((performance.now() - began) * 1000);
      began = performance.now();
      await target.close();
      closes.push((performance.now() - began) * 1000);
    }
    rows.push(summarize('QEMU spawn → first qtest reply', startups));
    rows.push(summarize('QEMU close (kill + temp dir)', closes));

    const target = selected.make();
    const qtest = await target.start();
    try {
      rows.push(summarize('readl, one at a time', await timeEach(2000, () => qtest.readl(0x1000))));
      const batches = await timeEach(20, () =>
        Promise.all(Array.from({ length: 1000 }, (_, i) => qtest.readl(0x1000 + 4 * i))),
      );
      rows.push(
        summarize(
          'readl, pipelined (per command)',
          batches.map((us) => us / 1000),
        ),
      );
      rows.push(summarize('b64read 4 KiB', await timeEach(500, () => qtest.memread(0x1000, 4096))));

      const bus = new PciBus(qtest);
      const transport = await openVirtioIommu(qtest, bus);
      const edu = await EduDevice.open(bus);
      await transport.reset();
      await transport.negotiate(featureBit(2));
      const queue = await SplitVirtqueue.create(
        transport,
        0,
        new GuestMemory(suiteRegion(QEMU_RAM_SIZE)).allocate(0x10_0000),
      );
      await transport.driverOk();
      const request = {
        segments: [
          { writable: false, bytes: attachRequest(1, edu.endpointId) },
          { writable: true, length: 4 },
        ],
      };
      // edu is still in bypass here; the ATTACHes below take it out.
      rows.push(
        summarize('edu DMA, one transfer', await timeEach(5, () => edu.fromDevice(0x20_0000n, 64))),
      );
      rows.push(
        summarize('ATTACH via requestq (submit)', await timeEach(300, () => queue.submit(request))),
      );
    } finally {
      await target.close();
    }
  });
  console.table(rows);
}

await main();
