// Boundary probes of one mapping: edu reads and writes at the edges of [virt_start, virt_end],
// judged byte by byte (judge/dma-judge.ts) against what the domain maps right now.
//
//   below   `length` bytes from virt_start − 1: straddles the start; byte 0 must not arrive
//   start   from virt_start, inside the mapping: every byte must arrive from phys_start + …
//   end     up to virt_end, inside the mapping: every byte must arrive
//   above   `length` bytes up to virt_end + 1: straddles the end; the last byte must not arrive
//
// `length` is 16 bytes, or the mapping's size when it is smaller (sub-page mappings). The
// straddles start or end one byte off the mapping and at odd addresses, so a device that
// grants a byte too much, rounds a mapping out to whole pages, or translates with an
// off-by-one shows up as bytes from (or written to) a place outside the mapping. Inside a
// straddle the mapped bytes may arrive or not: a transfer that faults part-way is not
// defined to complete its mapped part.
//
// Every probe set costs 2 + 2 × probes edu transfers: the write payloads go into edu's buffer
// in one load, each probe has its own buffer slot, and one read-back returns every read.

import { VIRTIO_IOMMU_MAP_F_READ, VIRTIO_IOMMU_MAP_F_WRITE } from '../../dist/ts/index.js';
import type { EduDevice } from '../edu/edu.js';
import type {
  DmaJudge,
  MemoryFinding,
  PlannedRead,
  PlannedWrite,
  Source,
  SuspectLine,
} from '../judge/dma-judge.js';
import { writePayload } from '../judge/payload.js';
import type { Session } from '../session.js';
import type { DriverView, Mapping } from './driver-view.js';
import type { EduRoute } from './edu-route.js';

/** The statements a probe finding can be evidence against. */
export const TRANSLATE_FORMULA = 'dev.translate.formula';
export const ISOLATION_DOMAIN = 'dev.isolation.domain';
export const WRITE_PROTECT = 'dev.map.write-protect';
export type ProbeStatement =
  typeof TRANSLATE_FORMULA | typeof ISOLATION_DOMAIN | typeof WRITE_PROTECT;

/** Buffer bytes set aside for each probe in edu's 4 KiB buffer. */
const SLOT = 32;
const PROBE_LENGTH = 16;
const PAGE = 0x1000;

export interface ProbeSite {
  session: Session;
  edu: EduDevice;
  route: EduRoute;
  view: DriverView;
  judge: DmaJudge;
}

export interface Probe {
  iova: bigint;
  length: number;
  what: string;
}

/** A finding of a probe set and the statement it is evidence against. */
export interface ProbeFinding {
  statement: ProbeStatement;
  text: string;
}

export type ProbeSetResult =
  { probed: true; transfers: number; findings: ProbeFinding[] } | { probed: false; reason: string };

/** `[0x1000, 0x1fff] → 0x200000 (domain 1)` */
export function describeMapping(m: Mapping): string {
  return `MAP [0x${m.virtStart.toString(16)}, 0x${m.virtEnd.toString(16)}] → 0x${m.physStart.toString(16)} (domain ${m.domain})`;
}

/** The probes around `m`, without those edu cannot issue. */
export function probesAround(m: Mapping, dmaMask: bigint): Probe[] {
  const size = m.virtEnd - m.virtStart + 1n;
  const inside = Number(size < BigInt(PROBE_LENGTH) ? size : BigInt(PROBE_LENGTH));
  const straddle = Math.min(PROBE_LENGTH, inside + 1);
  const probes: Probe[] = [
    { iova: m.virtStart - 1n, length: straddle, what: 'from virt_start − 1' },
    { iova: m.virtStart, length: inside, what: 'from virt_start' },
    { iova: m.virtEnd - BigInt(inside) + 1n, length: inside, what: 'up to virt_end' },
    {
      iova: m.virtEnd - BigInt(straddle) + 2n,
      length: straddle,
      what: 'up to virt_end + 1',
    },
  ];
  return probes.filter((p) => p.iova >= 0n && p.iova + BigInt(p.length) - 1n <= dmaMask);
}

/** Why `m` cannot be probed on this target, or undefined. */
function unprobeable(m: Mapping, site: ProbeSite): string | undefined {
  const endpoint = site.edu.endpointId;
  const domain = site.view.domainOf(endpoint);
  if (domain === undefined || domain.id !== m.domain || domain.bypass) {
    return `@ep is not attached to domain ${m.domain}`;
  }
  const size = m.virtEnd - m.virtStart + 1n;
  if (!site.judge.inRam(m.physStart, Number(size))) return 'it maps memory outside guest RAM';
  if (m.virtStart > site.edu.dmaMask) return `its IOVAs lie beyond edu's DMA mask`;
  return undefined;
}

/** Runs the probe set of `m` (a mapping of @ep's domain) and judges it. */
export async function probeMapping(site: ProbeSite, m: Mapping): Promise<ProbeSetResult> {
  const why = unprobeable(m, site);
  if (why !== undefined) return { probed: false, reason: `${describeMapping(m)}: ${why}` };
  const { edu, route, judge, view } = site;
  const probes = probesAround(m, edu.dmaMask);
  const live = view.mappingsOf(m.domain);
  // Watch every place a probe may reach, or a wrong device might.
  judge.watch(m.physStart, Number(m.virtEnd - m.virtStart + 1n));
  for (const other of live) {
    const size = other.virtEnd - other.virtStart + 1n;
    if (judge.inRam(other.physStart, Number(size))) judge.watch(other.physStart, Number(size));
  }
  for (const p of probes) judge.watch(p.iova, p.length);
  const label = (p: Probe, access: string): string =>
    `${access} of ${p.length} bytes at IOVA 0x${p.iova.toString(16)} (${p.what} of ${describeMapping(m)})`;
  // Short runs are traced against where each mapping of the domain would put the probe.
  // Short runs are traced against where each mapping of the domain would put the probe, and
  // a page either side of that (page arithmetic gone wrong).
  const suspects = (p: Probe): SuspectLine[] => [
    ...[m, ...live.filter((x) => x !== m)].flatMap((x) => {
      const address = Number(x.physStart + (p.iova - x.virtStart));
      const why = `where ${describeMapping(x)} would put it`;
      return [
        { offset: 0, address, why },
        { offset: 0, address: address - PAGE, why: `one page below ${why}` },
        { offset: 0, address: address + PAGE, why: `one page above ${why}` },
      ];
    }),
    { offset: 0, address: Number(p.iova), why: 'the IOVA taken as a physical address' },
  ];

  // Writes: load every payload into its slot, write each, compare all watched memory.
  const payloads = probes.map((p, k) => writePayload(`${describeMapping(m)}:${k}`, p.length));
  const buffer = new Uint8Array(SLOT * probes.length);
  payloads.forEach((payload, k) => buffer.set(payload, k * SLOT));
  await route.load(buffer);
  await judge.prepare(`${describeMapping(m)}:writes`);
  const writes: PlannedWrite[] = [];
  for (const [k, p] of probes.entries()) {
    await edu.fromDevice(p.iova, p.length, k * SLOT);
    writes.push({
      label: label(p, 'write'),
      payload: payloads[k]!,
      landing: probeExpectations(p, live, VIRTIO_IOMMU_MAP_F_WRITE),
    });
  }
  const writeFindings = await judge.judgeWrites(writes);

  // Reads: each into its slot, one read-back of all slots, each judged on its own.
  await judge.prepare(`${describeMapping(m)}:reads`);
  for (const [k, p] of probes.entries()) await edu.toDevice(p.iova, p.length, k * SLOT);
  const arrived = await route.read(buffer.length);
  const readFindings = probes.flatMap((p, k) => {
    const read: PlannedRead = {
      label: label(p, 'read'),
      length: p.length,
      sources: probeExpectations(p, live, VIRTIO_IOMMU_MAP_F_READ),
      suspects: suspects(p),
    };
    return judge.judgeRead(read, arrived.subarray(k * SLOT, k * SLOT + p.length));
  });
  // Blocked parts raised fault reports; take them off the event queue.
  await site.session.driver.collectEvents();
  return {
    probed: true,
    transfers: 2 + 2 * probes.length,
    findings: [
      ...writeFindings.map((f) => ({ statement: writeStatement(f, live), text: f.text })),
      ...readFindings.map((f) => ({ statement: readStatement(f), text: f.text })),
    ],
  };
}

/**
 * Where each byte of `p` must (or may) go for an access needing `permission`: the
 * translation formula of the mapping that covers it. A probe that lies wholly inside
 * permitted mappings must move every byte; one that straddles an edge may move the mapped
 * bytes or not. A read of a write-only mapping may pass (dev.map.write-only).
 */
export function probeExpectations(
  p: Probe,
  live: readonly Mapping[],
  permission: number,
): Source[] {
  const bytes: Array<{ address: number; sure: boolean } | undefined> = [];
  for (let i = 0; i < p.length; i++) {
    const iova = p.iova + BigInt(i);
    const m = live.find((x) => iova >= x.virtStart && iova <= x.virtEnd);
    if (m === undefined) continue;
    const permitted = (m.flags & permission) !== 0;
    const maybe =
      permission === VIRTIO_IOMMU_MAP_F_READ && (m.flags & VIRTIO_IOMMU_MAP_F_WRITE) !== 0;
    if (!permitted && !maybe) continue;
    bytes[i] = { address: Number(m.physStart + (iova - m.virtStart)), sure: permitted };
  }
  let whole = true;
  for (let i = 0; i < p.length; i++) whole &&= bytes[i]?.sure === true;
  const sources: Source[] = [];
  for (let i = 0; i < p.length; i++) {
    const b = bytes[i];
    if (b === undefined) continue;
    const last = sources[sources.length - 1];
    if (
      last !== undefined &&
      last.offset + last.length === i &&
      last.address + last.length === b.address
    ) {
      last.length++;
    } else sources.push({ offset: i, length: 1, address: b.address, required: whole });
  }
  return sources;
}

function readStatement(f: MemoryFinding): ProbeStatement {
  return f.kind === 'leak' ? ISOLATION_DOMAIN : TRANSLATE_FORMULA;
}

/**
 * A write that changed memory where it may not land: inside what a read-only mapping maps it
 * breaks write-protect, inside what a writable mapping maps it is a wrong translation, and
 * anywhere else it reached memory the domain does not map.
 */
function writeStatement(f: MemoryFinding, live: readonly Mapping[]): ProbeStatement {
  if (f.kind !== 'escape') return TRANSLATE_FORMULA;
  const hit = live.find((m) => {
    const end = Number(m.physStart + (m.virtEnd - m.virtStart));
    return f.span.start <= end && f.span.end > Number(m.physStart);
  });
  if (hit === undefined) return ISOLATION_DOMAIN;
  return (hit.flags & VIRTIO_IOMMU_MAP_F_WRITE) === 0 ? WRITE_PROTECT : TRANSLATE_FORMULA;
}
