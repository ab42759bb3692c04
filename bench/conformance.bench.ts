// The conformance suite's speed: the whole run's wall time (suite and robustness probes, as
// `viommu conform` runs them) against device-ref and against QEMU, and what one typed request
// costs through the harness (encode, descriptors, notify, the used ring, the reply read back)
// next to a bare qtest round trip measured on the same device in the same run.
// Run: npm run bench (or node build/bench/conformance.bench.js [ref|qemu]…).

import { performance } from 'node:perf_hooks';
import { runConformance } from '../conformance/run.js';
import { statusName } from '../dist/ts/index.js';
import { encodeRequest, type FieldValues } from '../conformance/driver/requests.js';
import { qtestTraffic } from '../conformance/qtest/connection.js';
import { openSession, type Session } from '../conformance/session.js';
import type { Target } from '../conformance/targets/target.js';
import { SplitVirtqueue } from '../conformance/virtio/split-virtqueue.js';
import { withTarget } from '../conformance/targets/with-target.js';
import { cpuSpent, cpuTimes } from './process-cpu.js';
import { benchTargets } from './targets.js';

/** Samples of each figure, and untimed rounds before them so that JIT warm-up is not measured. */
const ROUNDS = 1000;
const WARMUP = 1000;
/** #13 item 2: one request through the harness costs at most this many bare round trips. */
const TARGET_RATIO = 1.5;

/** The sample at quantile `q` (0.5: the median), in ms. */
function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function stats(samples: number[]): string {
  const us = (q: number): string => (quantile(samples, q) * 1000).toFixed(1);
  return `median ${us(0.5)} µs, p90 ${us(0.9)} µs`;
}

/**
 * Runs each piece of `work` WARMUP times untimed, then ROUNDS times timed, the pieces taking
 * turns round by round (so that a slow moment of a shared machine is billed to all of them).
 * A piece is [untimed set-up, timed part]; returns the timed part's samples, piece by piece.
 */
async function alternate(
  work: ReadonlyArray<readonly [() => Promise<unknown>, () => Promise<unknown>]>,
): Promise<number[][]> {
  const samples = work.map((): number[] => []);
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const [index, [setUp, timed]] of work.entries()) {
      await setUp();
      const began = performance.now();
      await timed();
      if (round >= WARMUP) samples[index]!.push(performance.now() - began);
    }
  }
  return samples;
}

const untimed = (): Promise<void> => Promise.resolve();

/**
 * What one typed request costs through the harness (IommuDriver.request: encode, post,
 * notify, used ring, reply read back) next to a bare round trip (a readb of device_status),
 * sampled alternately in the same session, in steady state (after WARMUP untimed rounds);
 * then, on the device reset, the notify of the same request posted beforehand, alone, next to
 * bare round trips again: one round trip plus the device's own work on the request, the floor
 * a request cannot go below. Each ratio is to the round trips sampled beside it.
 *
 * Two requests: an ATTACH (on QEMU its work, rebuilding address spaces, costs more than the
 * target allows by itself), and a DETACH from a domain the endpoint is not attached to, which
 * the device refuses after a look-up (little work on any device).
 */
async function perRequest(target: string): Promise<void> {
  await withTarget({ target }, async (selected) => {
    await withSession(selected.make(), async ({ driver, memory }) => {
      await driver.start();
      const endpoint = BigInt(driver.eduEndpoints[0] ?? 0);
      const attach = { domain: 1n, endpoint };
      const refused = { domain: 2n, endpoint };
      let refusedStatus: number | undefined;
      const bareReadb = (): Promise<unknown> => driver.transport.readStatus();
      // Each request in its own alternation with bare round trips: on QEMU an ATTACH leaves
      // work behind (its address spaces are freed after an RCU grace period) that would be
      // billed to whatever came next.
      const [bare, attachRequest] = await alternate([
        [untimed, bareReadb],
        [untimed, () => driver.request('attach', attach)],
      ]);
      const [refusedBare, refusedRequest] = await alternate([
        [untimed, bareReadb],
        [
          untimed,
          async () => void ({ status: refusedStatus } = await driver.request('detach', refused)),
        ],
      ]);

      // The floor, on the same device reset, with a queue of its own.
      const { transport } = driver;
      await transport.reset();
      await transport.negotiate(0n);
      // Rings of up to 256 entries and one request slot: one request is out at a time.
      const queue = await SplitVirtqueue.create(transport, 0, memory.allocate(0x4000));
      await transport.driverOk();
      const notifyAlone = (
        verb: 'attach' | 'detach',
        fields: FieldValues,
      ): readonly [() => Promise<unknown>, () => Promise<unknown>] => {
        const { readable, writableLength } = encodeRequest(verb, fields);
        const request = {
          segments: [
            { writable: false, bytes: readable },
            { writable: true, length: writableLength },
          ],
        };
        // Each round's set-up takes back the last round's buffer, then posts this round's.
        return [
          async () => {
            if (queue.outstanding > 0) await queue.waitUsed(1);
            await queue.post(request);
          },
          () => queue.notify(),
        ];
      };
      const floorBare = (): readonly [() => Promise<unknown>, () => Promise<unknown>] => [
        async () => queue.outstanding > 0 && (await queue.waitUsed(1)),
        () => transport.readStatus(),
      ];
      const [attachFloorBare, attachFloor] = await alternate([
        floorBare(),
        notifyAlone('attach', attach),
      ]);
      const [refusedFloorBare, refusedFloor] = await alternate([
        floorBare(),
        notifyAlone('detach', refused),
      ]);

      const median = (samples: number[]): number => quantile(samples, 0.5);
      const ratio = (samples: number[], base: number[]): number => median(samples) / median(base);
      const times = (samples: number[], base: number[]): string =>
        `${ratio(samples, base).toFixed(2)}× a round trip` +
        (base === bare ? '' : ` of ${(median(base) * 1000).toFixed(1)} µs beside it`);
      const verdict = (samples: number[], base: number[]): string =>
        `target ≤ ${TARGET_RATIO}×: ${ratio(samples, base) <= TARGET_RATIO ? 'met' : 'NOT met'}`;
      const refusedName = `DETACH refused (${refusedStatus === undefined ? 'no status' : statusName(refusedStatus)})`;
      const line = (label: string, text: string): string =>
        `${target}: ${label.padEnd(50)} ${text}\n`;
      process.stdout.write(
        line('bare qtest round trip (readb):', stats(bare)) +
          line(
            'ATTACH through the harness:',
            `${stats(attachRequest)} (${times(attachRequest, bare)}; ${verdict(attachRequest, bare)})`,
          ) +
          line(
            "ATTACH's notify alone (device work + 1 RT):",
            `${stats(attachFloor)} (${times(attachFloor, attachFloorBare)})`,
          ) +
          line(
            `${refusedName} through the harness:`,
            `${stats(refusedRequest)} (${times(refusedRequest, refusedBare)}; ${verdict(refusedRequest, refusedBare)})`,
          ) +
          line(
            `${refusedName}'s notify alone:`,
            `${stats(refusedFloor)} (${times(refusedFloor, refusedFloorBare)})`,
          ) +
          line(
            'harness ÷ notify alone (in round trips):',
            `ATTACH ${(ratio(attachRequest, bare) / ratio(attachFloor, attachFloorBare)).toFixed(2)}×, ` +
              `DETACH refused ${(ratio(refusedRequest, refusedBare) / ratio(refusedFloor, refusedFloorBare)).toFixed(2)}×`,
          ),
      );
    });
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

/** #13: the whole suite, robustness probes included, in at most this many seconds of wall time. */
const SUITE_TARGET_S: Record<string, number> = { ref: 2, qemu: 8 };

async function wholeSuite(target: string): Promise<void> {
  const began = performance.now();
  const cpuBefore = cpuTimes();
  const trafficBefore = { ...qtestTraffic };
  const { report } = await runConformance({
    target,
    tool: { name: 'bench', version: '0' },
  });
  const wall = (performance.now() - began) / 1000;
  const cpu = cpuSpent(cpuBefore, cpuTimes());
  const grouped = (n: number): string => n.toLocaleString('en-US');
  const commands = grouped(qtestTraffic.commands - trafficBefore.commands);
  const writes = grouped(qtestTraffic.writes - trafficBefore.writes);
  const tests = report.verdicts.reduce((n, v) => n + v.tests.length, 0);
  const s = report.summary;
  const seconds = (ms: number): string => (ms / 1000).toFixed(1);
  const goal = SUITE_TARGET_S[target];
  process.stdout.write(
    `${target}: whole suite with robustness probes ${wall.toFixed(1)} s wall` +
      (goal === undefined ? '' : ` (target ≤ ${goal} s: ${wall <= goal ? 'met' : 'NOT met'})`) +
      `, CPU ${seconds(cpu.ownMs)} s suite` +
      (cpu.childrenMs === undefined ? '' : ` + ${seconds(cpu.childrenMs)} s devices`) +
      `, ${commands} qtest commands in ${writes} socket writes` +
      `, ${tests} tests, ${s.robustnessFindings} robustness findings ` +
      `(${s.pass} pass, ${s.fail} fail, ${s.notApplicable} n/a, ${s.untested} untested)\n`,
  );
}

for (const target of benchTargets()) {
  await perRequest(target);
  await wholeSuite(target);
}
