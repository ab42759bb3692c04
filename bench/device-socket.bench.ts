// Requests per second over the qtest socket, driven by the conformance driver: one request
// per notify (post, notify, poll the used ring, read the reply) against 64 requests made
// available together and announced with one notify. device-ref is measured beside QEMU 7.2
// in the same run, on the same requests. Run: npm run bench (or node build/bench/device-socket.bench.js [ref|qemu]…).

import { performance } from 'node:perf_hooks';
import { openSession } from '../conformance/session.js';
import { benchTargets } from './targets.js';
import { withTarget } from '../conformance/targets/with-target.js';
import type { Target } from '../conformance/targets/target.js';
import { VIRTIO_IOMMU_MAP_F_READ, VIRTIO_IOMMU_MAP_F_WRITE } from '../dist/ts/index.js';

const REQUESTS = 2048;
const BATCH = 64;
const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);

/** MAP and UNMAP of page `i`, alternating: every request succeeds and the domain stays small. */
function requestAt(i: number): { verb: 'map' | 'unmap'; fields: Record<string, bigint> } {
  const page = BigInt(i >> 1) << 12n;
  return i % 2 === 0
    ? {
        verb: 'map',
        fields: {
          domain: 1n,
          virt_start: page,
          virt_end: page + 0xfffn,
          phys_start: page,
          flags: RW,
        },
      }
    : { verb: 'unmap', fields: { domain: 1n, virt_start: page, virt_end: page + 0xfffn } };
}

async function measure(target: string): Promise<void> {
  await withTarget({ target }, (selected) => measureOn(target, selected.make()));
}

async function measureOn(target: string, device: Target): Promise<void> {
  const session = await openSession(device);
  try {
    const { driver } = session;
    await driver.start();
    const endpoint = driver.eduEndpoints[0];
    if (endpoint === undefined) throw new Error(`${target}: no edu endpoint to attach`);
    const attach = await driver.request('attach', { domain: 1n, endpoint: BigInt(endpoint) });
    if (attach.status !== 0) throw new Error(`${target}: attach gave status ${attach.status}`);
    let began = performance.now();
    for (let i = 0; i < REQUESTS; i++) {
      const { verb, fields } = requestAt(i);
      const result = await driver.request(verb, fields);
      if (result.status !== 0)
        throw new Error(`${target}: ${verb} ${i} gave status ${result.status}`);
    }
    const single = REQUESTS / ((performance.now() - began) / 1000);
    began = performance.now();
    for (let i = 0; i < REQUESTS; i += BATCH) {
      const results = await driver.requestBatch(
        Array.from({ length: BATCH }, (_, j) => requestAt(i + j)),
      );
      if (results.some((r) => r.status !== 0))
        throw new Error(`${target}: a batched request failed`);
    }
    const batched = REQUESTS / ((performance.now() - began) / 1000);
    process.stdout.write(
      `${target.padEnd(4)}: ${single.toFixed(0).padStart(6)} requests/s one per notify, ` +
        `${batched.toFixed(0).padStart(6)} requests/s ${BATCH} per notify (${(batched / single).toFixed(1)}x)\n`,
    );
  } finally {
    await session.target.close();
  }
}

process.stdout.write(
  `device-socket: ${REQUESTS} MAP/UNMAP requests each way, over a Unix socket\n`,
);
for (const target of benchTargets()) await measure(target);
