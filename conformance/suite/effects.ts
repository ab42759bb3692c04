// Effects, not statuses: what a request did, read back by DMA, by the configuration and by
// PROBE. An endpoint is *armed* once (its edu buffer filled with a payload of its own through
// the staging page); from then on each check makes it write that payload at an IOVA, and the
// session's DMA judge (judge/session-judge.ts) says where the bytes landed: it watches its
// whole window (all RAM on device-ref) and a guard zone around the identity address and the
// expected landing, byte by byte.
//
// A snapshot is such a check for a list of accesses, plus `bypass` and the PROBE properties
// of every endpoint: a refused request must leave it exactly as it was.

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

const armed = new WeakMap<EduDevice, Uint8Array>();
/**
 * Fills `edu`'s buffer with its payload. The endpoint must reach the staging page at its
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
  const payload = writePayload(`effects:${edu.endpointId}`, EFFECT_LENGTH);
  await edu.loadBuffer(payload, { iova: base, phys: base, size });
  armed.set(edu, payload);
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
  const payload = armed.get(edu);
  if (payload === undefined)
    throw new Error(`effects: endpoint 0x${edu.endpointId.toString(16)} was not armed`);
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
  const payload = armed.get(access.edu);
  if (payload === undefined)
    throw new Error(`effects: endpoint 0x${access.edu.endpointId.toString(16)} was not armed`);
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

/** Where each access lands, `bypass`, and the PROBE properties of `endpoints`. */
export async function snapshot(
  session: Session,
  accesses: readonly Access[],
  endpoints: readonly number[],
): Promise<Snapshot> {
  const landings: Landing[] = [];
  for (const access of accesses) landings.push(await landing(session, access.edu, access.iova));
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
