// Requests per second over the qtest socket: one request per notify against 64 made
// available together and announced with one notify, on device-ref and on QEMU 7.2 side by
// side in the same run, with the same requests and the same client (bench/request-ring.ts:
// one pipelined burst of commands per round, polled without sleeping). Both targets stay
// open and are measured in turn, window after window, so a change in the machine's load
// falls on both. Prints the targets of issue #13 next to the figures, and, beside them, the
// CPU time each device's process spent per request: on a busy machine the rates follow
// the scheduler, the CPU time much less.
// Run: npm run bench (or node build/bench/device-socket.bench.js [ref|qemu]…).

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { openSession } from '../conformance/session.js';
import { withTarget } from '../conformance/targets/with-target.js';
import { VIRTIO_IOMMU_MAP_F_READ, VIRTIO_IOMMU_MAP_F_WRITE } from '../dist/ts/index.js';
import { processCpuMs } from './process-cpu.js';
import { RequestRing, type BenchRequest } from './request-ring.js';
import { benchTargets } from './targets.js';

const BATCH = 64;
/** How long one window measures one way on one target; a warm-up takes a quarter of that. */
const MEASURE_MS = Number(process.env.BENCH_TIME_MS ?? 500);
/** Windows per target and way; the median is shown. */
const WINDOWS = 3;
const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);
/** The targets of issue #13, item 3. */
const BATCH_GAIN_TARGET = 10;
const REF_OVER_QEMU_TARGET = 1;

/** MAP and UNMAP of page `i / 2`, alternating: every request succeeds, the domain stays small. */
function requestAt(i: number): BenchRequest {
  const page = BigInt((i >> 1) & 0xffff) << 12n;
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

/**
 * Requests per second, serving `perRound` per notify for about `ms`. Ends after an UNMAP, so
 * the next call finds the domain empty.
 */
async function rate(ring: RequestRing, perRound: number, ms: number): Promise<number> {
  let served = 0;
  const began = performance.now();
  let elapsed = 0;
  while (elapsed < ms || served % 2 !== 0) {
    const round = Array.from({ length: perRound }, (_, j) => requestAt(served + j));
    const statuses = await ring.serve(round);
    const failed = statuses.findIndex((status) => status !== 0);
    if (failed !== -1) {
      throw new Error(`${round[failed]!.verb} ${served + failed} gave status ${statuses[failed]}`);
    }
    served += perRound;
    elapsed = performance.now() - began;
  }
  return served / (elapsed / 1000);
}

/**
 * Milliseconds of CPU time (user and system) the device processes of `target` have used: our
 * children whose command line is device-ref's `viommu … device` or a qemu-system, summed (the
 * ref target runs a device-ref per lane, the qemu target keeps QEMUs started ahead of the tests
 * to come: the idle ones add nothing); undefined where /proc does not tell.
 */
function deviceCpuMs(target: string): number | undefined {
  try {
    const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8');
    let total: number | undefined;
    for (const pid of children.trim().split(/\s+/)) {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const isTarget =
        target === 'ref'
          ? command.some((word) => word.endsWith('viommu.js')) && command.includes('device')
          : command.some((word) => word.includes('qemu-system'));
      if (!isTarget) continue;
      total = (total ?? 0) + processCpuMs(Number(pid));
    }
    return total;
  } catch {
    // no /proc, or a process just ended
    return undefined;
  }
}

/** Runs `rate` and also measures the device's CPU time per request (µs) over it. */
async function measured(
  target: string,
  ring: RequestRing,
  perRound: number,
): Promise<{ rate: number; cpuUs: number | undefined }> {
  const cpuBefore = deviceCpuMs(target);
  const began = performance.now();
  const perSecond = await rate(ring, perRound, MEASURE_MS);
  const requests = (perSecond * (performance.now() - began)) / 1000;
  const cpuAfter = deviceCpuMs(target);
  const cpuUs =
    cpuBefore === undefined || cpuAfter === undefined
      ? undefined
      : ((cpuAfter - cpuBefore) * 1000) / requests;
  return { rate: perSecond, cpuUs };
}

interface Rates {
  single: number;
  batched: number;
  /** Device CPU time per request in µs, over all windows; undefined where unknown. */
  singleCpuUs: number | undefined;
  batchedCpuUs: number | undefined;
}

/** A target opened and ready: its request ring, with domain 1 holding its first endpoint. */
interface Ready {
  target: string;
  ring: RequestRing;
}

/** Opens every target (each closed on every path, Ctrl-C too) and runs `use` with all of them. */
async function withReady<T>(
  targets: readonly string[],
  use: (ready: Ready[]) => Promise<T>,
): Promise<T> {
  const open = async (rest: readonly string[], ready: Ready[]): Promise<T> => {
    const [target, ...others] = rest;
    if (target === undefined) return use(ready);
    return withTarget({ target }, async (selected) => {
      const session = await openSession(selected.make());
      try {
        const { driver } = session;
        const ring = await RequestRing.open(driver);
        const endpoint = driver.eduEndpoints[0];
        if (endpoint === undefined) throw new Error(`${target}: no edu endpoint to attach`);
        const [attach] = await ring.serve([
          { verb: 'attach', fields: { domain: 1n, endpoint: BigInt(endpoint) } },
        ]);
        if (attach !== 0) throw new Error(`${target}: ATTACH gave status ${attach}`);
        return await open(others, [...ready, { target, ring }]);
      } finally {
        await session.target.close();
      }
    });
  };
  return open(targets, []);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;
/** The mean, or undefined when a value is missing. */
const meanOf = (values: (number | undefined)[]): number | undefined =>
  values.some((value) => value === undefined)
    ? undefined
    : (values as number[]).reduce((sum, value) => sum + value, 0) / values.length;
const cpu = (us: number | undefined): string =>
  us === undefined ? 'device CPU unknown' : `device CPU ${us.toFixed(2)} µs/request`;
const meets = (value: number, target: number): string => (value >= target ? 'met' : 'NOT met');
const perSecond = (value: number): string => `${value.toFixed(0).padStart(7)} requests/s`;

process.stdout.write(
  `device-socket: MAP/UNMAP requests over a Unix socket, one pipelined round of qtest commands per notify;\n` +
    `  ${WINDOWS} windows of ${MEASURE_MS} ms per target and way, taken in turn (the targets see the same machine load), median shown\n`,
);
const results = await withReady(benchTargets(), async (ready) => {
  for (const { ring } of ready) {
    await rate(ring, 1, MEASURE_MS / 4);
    await rate(ring, BATCH, MEASURE_MS / 4);
  }
  const samples = new Map(
    ready.map(({ target }) => [
      target,
      {
        single: [] as number[],
        batched: [] as number[],
        singleCpu: [] as (number | undefined)[],
        batchedCpu: [] as (number | undefined)[],
      },
    ]),
  );
  for (let window = 0; window < WINDOWS; window++) {
    for (const { target, ring } of ready) {
      const s = samples.get(target)!;
      const single = await measured(target, ring, 1);
      const batched = await measured(target, ring, BATCH);
      s.single.push(single.rate);
      s.singleCpu.push(single.cpuUs);
      s.batched.push(batched.rate);
      s.batchedCpu.push(batched.cpuUs);
    }
  }
  return new Map(
    [...samples].map(([target, s]): [string, Rates] => [
      target,
      {
        single: median(s.single),
        batched: median(s.batched),
        singleCpuUs: meanOf(s.singleCpu),
        batchedCpuUs: meanOf(s.batchedCpu),
      },
    ]),
  );
});
for (const [target, rates] of results) {
  const gain = rates.batched / rates.single;
  process.stdout.write(
    `${target.padEnd(4)}: ${perSecond(rates.single)} 1/notify, ${perSecond(rates.batched)} ${BATCH}/notify; ` +
      `${BATCH}/notify ÷ 1/notify: ${gain.toFixed(1)}x` +
      (target === 'ref'
        ? ` (target ≥${BATCH_GAIN_TARGET}x: ${meets(gain, BATCH_GAIN_TARGET)})\n`
        : '\n') +
      `      ${cpu(rates.singleCpuUs)} at 1/notify, ${cpu(rates.batchedCpuUs)} at ${BATCH}/notify\n`,
  );
}
const ref = results.get('ref');
const qemu = results.get('qemu');
if (ref !== undefined && qemu !== undefined) {
  for (const [way, key] of [
    ['1/notify', 'single'],
    [`${BATCH}/notify`, 'batched'],
  ] as const) {
    const ratio = ref[key] / qemu[key];
    const refCpu = key === 'single' ? ref.singleCpuUs : ref.batchedCpuUs;
    const qemuCpu = key === 'single' ? qemu.singleCpuUs : qemu.batchedCpuUs;
    const cpuRatio =
      refCpu === undefined || qemuCpu === undefined
        ? ''
        : `; device CPU per request, qemu ÷ ref: ${(qemuCpu / refCpu).toFixed(2)}x`;
    process.stdout.write(
      `ref ÷ qemu, ${way}: ${ratio.toFixed(2)}x (target ≥${REF_OVER_QEMU_TARGET}x: ${meets(ratio, REF_OVER_QEMU_TARGET)})${cpuRatio}\n`,
    );
  }
}
