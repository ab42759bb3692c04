// The conformance suite's speed: the whole run's wall time (suite and robustness probes, as
// `viommu conform` runs them) against device-ref and against QEMU, and what one typed request
// costs through the harness (encode, descriptors, notify, the used ring, the reply read back)
// next to a bare qtest round trip measured on the same device in the same run.
// Run: npm run bench (or node build/bench/conformance.bench.js [ref|qemu]…).

import { performance } from 'node:perf_hooks';
import { runConformance } from '../conformance/run.js';
import { encodeRequest } from '../conformance/driver/requests.js';
import { openSession, type Session } from '../conformance/session.js';
import type { Target } from '../conformance/targets/target.js';
import { SplitVirtqueue } from '../conformance/virtio/split-virtqueue.js';
import { withTarget } from '../conformance/targets/with-target.js';
import { benchTargets } from './targets.js';

const ROUNDS = 400;

/** The sample at quantile `q` (0.5: the median), in ms. */
function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function stats(samples: number[]): string {
  const us = (q: number): string => (quantile(samples, q) * 1000).toFixed(1);
  return `median ${us(0.5)} µs, p90 ${us(0.9)} µs`;
}

async function time(rounds: number, work: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const began = performance.now();
    await work();
    samples.push(performance.now() - began);
  }
  return samples;
}

/**
 * One ATTACH through the harness (IommuDriver.request: encode, post, notify, used ring, reply
 * read back) next to a bare round trip (a readb of device_status), sampled alternately in the
 * same session; then, on a fresh device, the notify of an ATTACH posted beforehand, alone: one
 * round trip plus the device's own work on the request, the floor a request cannot go below.
 */
async function perRequest(target: string): Promise<void> {
  await withTarget({ target }, async (selected) => {
    const bare: number[] = [];
    const request: number[] = [];
    const floor: number[] = [];
    await withSession(selected.make(), async ({ driver }) => {
      await driver.start();
      const endpoint = BigInt(driver.eduEndpoints[0] ?? 0);
      for (let i = 0; i < ROUNDS; i++) {
        bare.push(...(await time(1, () => driver.transport.readStatus())));
        request.push(...(await time(1, () => driver.request('attach', { domain: 1n, endpoint }))));
      }
    });
    await withSession(selected.make(), async ({ driver, memory }) => {
      const { transport } = driver;
      await transport.reset();
      await transport.negotiate(0n);
      const queue = await SplitVirtqueue.create(transport, 0, memory.allocate(0x10_0000));
      await transport.driverOk();
      const { readable, writableLength } = encodeRequest('attach', {
        domain: 1n,
        endpoint: BigInt(driver.eduEndpoints[0] ?? 0),
      });
      for (let i = 0; i < ROUNDS; i++) {
        await queue.post({
          segments: [
            { writable: false, bytes: readable },
            { writable: true, length: writableLength },
          ],
        });
        floor.push(...(await time(1, () => queue.notify())));
        await queue.waitUsed(1);
      }
    });
    const median = (samples: number[]): number => quantile(samples, 0.5);
    const times = (samples: number[]): string =>
      `${(median(samples) / median(bare)).toFixed(2)}× a round trip`;
    process.stdout.write(
      `${target}: bare qtest round trip (readb):             ${stats(bare)}\n` +
        `${target}: ATTACH through the harness:                 ${stats(request)} (${times(request)})\n` +
        `${target}: ATTACH's notify alone (device work + 1 RT): ${stats(floor)} (${times(floor)})\n`,
    );
  });
}

async function withSession(target: Target, work: (session: Session) => Promise<void>) {
  const session = await openSession(target);
  try {
    await work(session);
  } finally {
    await target.close();
  }
}

async function wholeSuite(target: string): Promise<void> {
  const began = performance.now();
  const { report } = await runConformance({
    target,
    tool: { name: 'bench', version: '0' },
  });
  const tests = report.verdicts.reduce((n, v) => n + v.tests.length, 0);
  const s = report.summary;
  process.stdout.write(
    `${target}: whole suite with robustness probes ${((performance.now() - began) / 1000).toFixed(1)} s wall, ` +
      `${tests} tests, ${s.robustnessFindings} robustness findings ` +
      `(${s.pass} pass, ${s.fail} fail, ${s.notApplicable} n/a, ${s.untested} untested)\n`,
  );
}

for (const target of benchTargets()) {
  await perRequest(target);
  await wholeSuite(target);
}
