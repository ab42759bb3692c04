// The conformance suite's speed: the whole run's wall time (suite and robustness probes, as
// `viommu conform` runs them) against device-ref and against QEMU, and what one typed request
// costs through the harness (encode, descriptors, notify, the used ring, the reply read back)
// next to a bare qtest round trip measured on the same device in the same run.
// Run: npm run bench (or node build/bench/conformance.bench.js [ref|qemu]…).

import { performance } from 'node:perf_hooks';
import { runConformance } from '../conformance/run.js';
import { openSession } from '../conformance/session.js';
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

async function perRequest(target: string): Promise<void> {
  await withTarget({ target }, async (selected) => {
    const session = await openSession(selected.make());
    try {
      const { driver } = session;
      await driver.start();
      const endpoint = BigInt(driver.eduEndpoints[0] ?? 0);
      // One readb of device_status: a single qtest command and its reply.
      const bare = await time(ROUNDS, () => driver.transport.readStatus());
      const request = await time(ROUNDS, () => driver.request('attach', { domain: 1n, endpoint }));
      const ratio = quantile(request, 0.5) / quantile(bare, 0.5);
      process.stdout.write(
        `${target}: bare qtest round trip (readb): ${stats(bare)}\n` +
          `${target}: ATTACH through the harness:     ${stats(request)} (${ratio.toFixed(1)}× a round trip)\n`,
      );
    } finally {
      await session.target.close();
    }
  });
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
