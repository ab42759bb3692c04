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
import type { Landing as PayloadLanding, MemoryFinding } from '../judge/dma-judge.js';
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
  const landing =
    expected === 'blocked'
      ? []
      : [{ offset: 0, length: EFFECT_LENGTH, address: Number(expected), required: true }];
  return judgedWriteTo(session, edu, iova, payload, landing);
}

/** `edu` writes `payload` at `iova`; the judge watches each landing place and the identity address. */
async function judgedWriteTo(
  session: Session,
  edu: EduDevice,
  iova: bigint,
  payload: Uint8Array,
  landing: readonly PayloadLanding[],
): Promise<MemoryFinding[]> {
  const judge = sessionJudge(session);
  if (judge.inRam(iova, EFFECT_LENGTH)) judge.watch(iova, EFFECT_LENGTH);
  for (const place of landing) judge.watch(place.address, place.length);
  await session.driver.collectEvents();
  await judge.prepare(`effects:${edu.endpointId}:${iova}`);
  await edu.fromDevice(iova, EFFECT_LENGTH);
  const label = `write of ${EFFECT_LENGTH} bytes at IOVA 0x${iova.toString(16)} by endpoint 0x${edu.endpointId.toString(16)}`;
  return judge.judgeWrites([{ label, payload, landing }]);
}

/**
 * Fails unless `edu`'s write at `iova` changed nothing but what `places` allow: payload bytes
 * [offset, offset + length) at `address` onwards, each of them there or nowhere.
 */
export async function expectWriteWithin(
  session: Session,
  access: Access,
  places: readonly { offset: number; length: number; address: bigint }[],
  statement: string,
): Promise<void> {
  const payload = armedPayload(access.edu);
  const landing = places.map((p) => ({ ...p, address: Number(p.address), required: false }));
  const findings = await judgedWriteTo(session, access.edu, access.iova, payload, landing);
  if (findings.length > 0) {
    throw new ExpectationFailure({
      expected: `${access.label}: ${statement}`,
      message: `${statement}: ${access.label}: ${findings.map((f) => f.text).join('; ')}`,
    });
  }
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
 * rounds as tell the same, writing in `order`. A round (judgedRound()) writes each pending
 * access's own payload; an access it finds nowhere may lie under a later access's payload (a
 * device that sends both to the same place), so such accesses go to the next round. A round
 * whose changes are not whole payloads sends the pending accesses to landing(), one by one,
 * for its exact findings.
 */
async function landingsOf(
  session: Session,
  accesses: readonly Access[],
  order: readonly number[],
): Promise<Landing[]> {
  const found: Landing[] = [];
  let pending = [...order];
  while (pending.length > 0) {
    const taken = new Map<EduDevice, number>();
    const round = pending.filter((index) => {
      const { edu } = accesses[index]!;
      taken.set(edu, (taken.get(edu) ?? 0) + 1);
      return taken.get(edu)! <= SLOTS;
    });
    const result = await judgedRound(
      session,
      round.map((index) => accesses[index]!),
      [],
    );
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
    round.forEach((index, i) => {
      if (result[i] === 'blocked' && i < lastLanded) hidden.add(index);
      else found[index] = result[i]!;
    });
    pending = pending.filter((index) => hidden.has(index) || !round.includes(index));
  }
  return found;
}

/** One expectLanding(). */
export interface LandingCheck {
  access: Access;
  expected: Landing;
  statement: string;
}

/**
 * expectLanding() for each check in turn, judged in rounds (judgedRound()) when every round
 * finds each access where it is expected. A round holds no two checks expected in the same
 * place (the later payload would cover the earlier) and at most SLOTS per endpoint; the
 * accesses that land are written first, so one found nowhere was not written before one that
 * landed and lies under none. Anything else is judged check by check, for expectLanding()'s
 * own findings.
 */
export async function expectLandings(
  session: Session,
  checks: readonly LandingCheck[],
): Promise<void> {
  const rounds: LandingCheck[][] = [];
  const ordered = [
    ...checks.filter((c) => c.expected !== 'blocked'),
    ...checks.filter((c) => c.expected === 'blocked'),
  ];
  for (const check of ordered) {
    const fits = (round: LandingCheck[]): boolean =>
      round.filter((c) => c.access.edu === check.access.edu).length < SLOTS &&
      round.every((c) => !overlap(c.expected, check.expected));
    const round = rounds.find(fits);
    if (round === undefined) rounds.push([check]);
    else round.push(check);
  }
  let asExpected = true;
  for (const round of rounds) {
    const result = await judgedRound(
      session,
      round.map((c) => c.access),
      round.flatMap((c) => (c.expected === 'blocked' ? [] : [c.expected])),
    );
    asExpected = result?.every((landed, i) => landed === round[i]!.expected) === true;
    if (!asExpected) break;
  }
  if (asExpected) return;
  for (const { access, expected, statement } of checks)
    await expectLanding(session, access, expected, statement);
}

/** True when two expected landings of EFFECT_LENGTH bytes share a byte. */
function overlap(a: Landing, b: Landing): boolean {
  if (a === 'blocked' || b === 'blocked') return false;
  const distance = a > b ? a - b : b - a;
  return distance < BigInt(EFFECT_LENGTH);
}

/**
 * Writes, after one fill, each access's own payload (the k-th access of an endpoint from its
 * buffer slot k: at most SLOTS per endpoint), in order, then compares all watched memory once.
 * Returns where each access landed, when every changed byte belongs to one whole payload and
 * each payload is found once at most (it landed there, or nowhere); else undefined. `watch`:
 * further places to watch (expected landings).
 */
async function judgedRound(
  session: Session,
  accesses: readonly Access[],
  watch: readonly bigint[],
): Promise<Landing[] | undefined> {
  const judge = sessionJudge(session);
  for (const place of watch) judge.watch(place, EFFECT_LENGTH);
  const slots = new Map<EduDevice, number>();
  const writes = accesses.map(({ edu, iova }) => {
    if (judge.inRam(iova, EFFECT_LENGTH)) judge.watch(iova, EFFECT_LENGTH);
    const slot = slots.get(edu) ?? 0;
    slots.set(edu, slot + 1);
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
