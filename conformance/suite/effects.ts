// Effects, not statuses: what a request did, read back by DMA, by the configuration and by
// PROBE. An endpoint is *armed* once (its edu buffer filled with a payload of its own through
// the staging page); from then on each check makes it write that payload at an IOVA, and the
// session's DMA judge (judge/session-judge.ts) says where the bytes landed: it watches its
// whole window (all RAM on device-ref) and a guard zone around the identity address and the
// expected landing, byte by byte.
//
// A snapshot is such a check for a list of accesses, plus `bypass` and the PROBE properties
// of every endpoint: a refused request must leave it exactly as it was. Its accesses are
// judged together where that tells the same as judging them one by one (landings()): each
// writes a payload of its own, one fill and one comparison of all watched memory for them all.

import {
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
} from '../../dist/ts/index.js';
import type { EduDevice } from '../edu/edu.js';
import type { MemoryFinding } from '../judge/dma-judge.js';
import { sessionJudge } from '../judge/session-judge.js';
import { writePayload } from '../judge/payload.js';
import { ExpectationFailure, toHex } from '../scenario/expectation.js';
import type { Session } from '../session.js';
import { expectStatus } from './device-steps.js';

/** Bytes each effect check writes. */
export const EFFECT_LENGTH = 16;

/** Where an endpoint's write went: a guest-physical address, or nowhere. */
export type Landing = bigint | 'blocked';

export function describeLanding(landing: Landing): string {
  return landing === 'blocked' ? 'blocked' : `lands at 0x${landing.toString(16)}`;
}

/** One access of a snapshot: `edu` writes at `iova`. */
export interface Access {
  edu: EduDevice;
  iova: bigint;
  /** For messages: `@ep at 0x10000 (domain 1's mapping)`. */
  label: string;
}

export interface Snapshot {
  landings: Landing[];
  bypass: number | undefined;
  /** PROBE properties by endpoint ID, hex. */
  probes: Map<number, string>;
}

/**
 * Payloads an armed endpoint holds, EFFECT_LENGTH bytes each at buffer offset
 * EFFECT_LENGTH × slot: the accesses of one batch each write another (slot 0 elsewhere).
 */
const SLOTS = 4;

const armed = new WeakMap<EduDevice, Uint8Array>();
/**
 * Fills `edu`'s buffer with its payloads. The endpoint must reach the staging page at its
 * physical address: in bypass, or attached to `domain`, where the staging page is then mapped
 * (identity, read-write) first.
 */
export async function arm(session: Session, edu: EduDevice, domain?: number): Promise<void> {
  const { base, size } = session.staging;
  if (domain !== undefined) {
    const fields = {
      domain: BigInt(domain),
      virt_start: base,
      virt_end: base + BigInt(size) - 1n,
      phys_start: base,
      flags: BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
    };
    await expectStatus(session, 'map', fields, [VIRTIO_IOMMU_S_OK]);
  }
  const payloads = writePayload(`effects:${edu.endpointId}`, EFFECT_LENGTH * SLOTS);
  await edu.loadBuffer(payloads, { iova: base, phys: base, size });
  armed.set(edu, payloads);
}

/** The payload `edu` writes from buffer slot `slot`. */
function armedPayload(edu: EduDevice, slot = 0): Uint8Array {
  const payloads = armed.get(edu);
  if (payloads === undefined)
    throw new Error(`effects: endpoint 0x${edu.endpointId.toString(16)} was not armed`);
  return payloads.subarray(slot * EFFECT_LENGTH, (slot + 1) * EFFECT_LENGTH);
}

/**
 * `edu` writes its payload at `iova`, and the judge compares all watched memory with what it
 * held: `landing` is where the payload may land (nowhere when empty). Returns the findings.
 */
async function judgedWrite(
  session: Session,
  edu: EduDevice,
  iova: bigint,
  expected: Landing,
): Promise<MemoryFinding[]> {
  const payload = armedPayload(edu);
  const judge = sessionJudge(session);
  if (judge.inRam(iova, EFFECT_LENGTH)) judge.watch(iova, EFFECT_LENGTH);
  if (expected !== 'blocked') judge.watch(expected, EFFECT_LENGTH);
  await session.driver.collectEvents();
  await judge.prepare(`effects:${edu.endpointId}:${iova}`);
  await edu.fromDevice(iova, EFFECT_LENGTH);
  const label = `write of ${EFFECT_LENGTH} bytes at IOVA 0x${iova.toString(16)} by endpoint 0x${edu.endpointId.toString(16)}`;
  const landing =
    expected === 'blocked'
      ? []
      : [{ offset: 0, length: EFFECT_LENGTH, address: Number(expected), required: true }];
  return judge.judgeWrites([{ label, payload, landing }]);
}

/**
 * `edu` writes its payload at `iova`; returns where it landed, found by the judge: nowhere,
 * or one run of EFFECT_LENGTH bytes. Anything else (bytes scattered, a partial write) fails.
 */
export async function landing(session: Session, edu: EduDevice, iova: bigint): Promise<Landing> {
  const findings = await judgedWrite(session, edu, iova, 'blocked');
  if (findings.length === 0) return 'blocked';
  const [only] = findings;
  if (findings.length === 1 && only!.span.end - only!.span.start === EFFECT_LENGTH)
    return BigInt(only!.span.start);
  throw new ExpectationFailure({
    expected: `the ${EFFECT_LENGTH}-byte write at IOVA 0x${iova.toString(16)} lands whole in one place, or nowhere`,
    message: findings.map((f) => f.text).join('; '),
  });
}

/** Fails unless `edu`'s write at `iova` has the `expected` landing, byte for byte, and nothing else changed. */
export async function expectLanding(
  session: Session,
  access: Access,
  expected: Landing,
  statement: string,
): Promise<void> {
  const findings = await judgedWrite(session, access.edu, access.iova, expected);
  if (findings.length > 0) {
    throw new ExpectationFailure({
      expected: `${access.label}: the write ${describeLanding(expected)}`,
      message: `${statement}: ${access.label}: ${findings.map((f) => f.text).join('; ')}`,
    });
  }
}

/**
 * Where each access lands, `bypass`, and the PROBE properties of `endpoints`. `likely` (where
 * each access is expected to land, undefined where unknown) only orders the writes: accesses
 * likely to land go first, so that none found nowhere is written before one that landed.
 */
export async function snapshot(
  session: Session,
  accesses: readonly Access[],
  endpoints: readonly number[],
  likely: ReadonlyArray<Landing | undefined> = [],
): Promise<Snapshot> {
  const rank = (i: number): number =>
    likely[i] === undefined ? 1 : likely[i] === 'blocked' ? 2 : 0;
  const order = accesses.map((_, i) => i).sort((a, b) => rank(a) - rank(b) || a - b);
  const landings = await landingsOf(session, accesses, order);
  const driver = session.driver;
  const bypass = driver.has(VIRTIO_IOMMU_F_BYPASS_CONFIG)
    ? (await driver.readConfig()).bypass
    : undefined;
  const probes = new Map<number, string>();
  if (driver.has(VIRTIO_IOMMU_F_PROBE)) {
    for (const endpoint of endpoints) {
      const result = await driver.request('probe', { endpoint: BigInt(endpoint) });
      probes.set(endpoint, toHex(result.reply));
    }
  }
  return { landings, bypass, probes };
}

/**
 * Where each access lands, as landing() would find it access by access, in as few judged
 * rounds as tell the same, writing in `order`. A round writes, after one fill, each pending access's own payload
 * (a buffer slot of its own: at most SLOTS per endpoint), then compares all watched memory
 * once. It is taken only when every changed byte belongs to one whole payload, each payload
 * found once at most: then each access landed there or nowhere, except that an access found
 * nowhere may lie under a later access's payload (a device that sends both to the same place),
 * so such accesses go to the next round. Any other change (a partial write, bytes of no
 * payload) sends the pending accesses to landing(), one by one, for its exact findings.
 */
async function landingsOf(
  session: Session,
  accesses: readonly Access[],
  order: readonly number[],
): Promise<Landing[]> {
  const found: Landing[] = [];
  let pending = [...order];
  while (pending.length > 0) {
    const slotsUsed = new Map<EduDevice, number>();
    const round: Array<{ index: number; slot: number }> = [];
    for (const index of pending) {
      const { edu } = accesses[index]!;
      const slot = slotsUsed.get(edu) ?? 0;
      if (slot === SLOTS) continue;
      slotsUsed.set(edu, slot + 1);
      round.push({ index, slot });
    }
    const result = await judgedRound(session, accesses, round);
    if (result === undefined) {
      for (const index of pending) {
        const { edu, iova } = accesses[index]!;
        found[index] = await landing(session, edu, iova);
      }
      break;
    }
    let lastLanded = -1;
    for (const [i, landed] of result.entries()) if (landed !== 'blocked') lastLanded = i;
    const hidden = new Set<number>();
    round.forEach(({ index }, i) => {
      if (result[i] === 'blocked' && i < lastLanded) hidden.add(index);
      else found[index] = result[i]!;
    });
    const inRound = new Set(round.map(({ index }) => index));
    pending = pending.filter((index) => hidden.has(index) || !inRound.has(index));
  }
  return found;
}

/**
 * One round of landingsOf(): the landing of each access of `round` (its payload from `slot`),
 * or undefined when the changes are not whole payloads, each found once at most.
 */
async function judgedRound(
  session: Session,
  accesses: readonly Access[],
  round: ReadonlyArray<{ index: number; slot: number }>,
): Promise<Landing[] | undefined> {
  const judge = sessionJudge(session);
  const writes = round.map(({ index, slot }) => {
    const { edu, iova } = accesses[index]!;
    if (judge.inRam(iova, EFFECT_LENGTH)) judge.watch(iova, EFFECT_LENGTH);
    return {
      edu,
      iova,
      offset: slot * EFFECT_LENGTH,
      payload: armedPayload(edu, slot),
      label: `write of ${EFFECT_LENGTH} bytes at IOVA 0x${iova.toString(16)} by endpoint 0x${edu.endpointId.toString(16)}`,
    };
  });
  await session.driver.collectEvents();
  await judge.prepare(
    `effects:round:${writes.map((w) => `${w.edu.endpointId}:${w.iova}`).join(',')}`,
  );
  for (const { edu, iova, offset } of writes) await edu.fromDevice(iova, EFFECT_LENGTH, offset);
  const findings = await judge.judgeWrites(
    writes.map(({ label, payload }) => ({ label, payload, landing: [] })),
  );
  const landed: Landing[] = writes.map(() => 'blocked');
  for (const { span, found } of findings) {
    if (found === undefined || found.length % EFFECT_LENGTH !== 0) return undefined;
    for (let at = 0; at < found.length; at += EFFECT_LENGTH) {
      const bytes = found.subarray(at, at + EFFECT_LENGTH);
      const w = writes.findIndex(({ payload }) => Buffer.compare(payload, bytes) === 0);
      if (w === -1 || landed[w] !== 'blocked') return undefined;
      landed[w] = BigInt(span.start + at);
    }
  }
  return landed;
}

/** Fails with every difference between two snapshots of the same accesses. */
export function expectUnchanged(
  before: Snapshot,
  after: Snapshot,
  accesses: readonly Access[],
  what: string,
): void {
  const differences: string[] = [];
  accesses.forEach((access, i) => {
    const [was, now] = [before.landings[i]!, after.landings[i]!];
    if (was !== now)
      differences.push(
        `${access.label}: ${describeLanding(was)} before, ${describeLanding(now)} after`,
      );
  });
  if (before.bypass !== after.bypass)
    differences.push(`bypass ${before.bypass} before, ${after.bypass} after`);
  for (const [endpoint, was] of before.probes) {
    if (after.probes.get(endpoint) !== was)
      differences.push(
        `PROBE of 0x${endpoint.toString(16)}: ${was} before, ${after.probes.get(endpoint)} after`,
      );
  }
  if (differences.length > 0) {
    throw new ExpectationFailure({
      expected: `${what} changes nothing`,
      message: `after ${what}: ${differences.join('; ')}`,
    });
  }
}
