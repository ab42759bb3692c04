// Effects, not statuses: what a request did, read back by DMA, by the configuration and by
// PROBE. An endpoint is *armed* once (its edu buffer filled with a pattern of its own through
// the staging page); from then on each check makes it write that pattern at an IOVA and
// looks at where the bytes landed in the whole of @ram and at the identity address.
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
import { patternFor } from '../scenario/pattern.js';
import { ExpectationFailure, toHex } from '../scenario/expectation.js';
import type { Session } from '../session.js';
import { expectStatus } from './device-steps.js';

/** Bytes each effect check writes. */
export const EFFECT_LENGTH = 16;
/** Guest RAM ends here on the boards we drive (256 MiB), and edu's DMA mask is 28 bits. */
const RAM_END = 0x1000_0000n;

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
 * Fills `edu`'s buffer with its pattern. The endpoint must reach the staging page at its
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
  const pattern = patternFor(`effects:${edu.endpointId}`, EFFECT_LENGTH);
  await edu.loadBuffer(pattern, { iova: base, phys: base, size });
  armed.set(edu, pattern);
}

/**
 * `edu` writes its pattern at `iova`; returns where it landed. The whole of @ram and the
 * identity address are watched; a write that lands anywhere but one exact place, or only
 * partly, is a failure of its own (an IOMMU that scatters bytes).
 */
export async function landing(session: Session, edu: EduDevice, iova: bigint): Promise<Landing> {
  const pattern = armed.get(edu);
  if (pattern === undefined)
    throw new Error(`effects: endpoint 0x${edu.endpointId.toString(16)} was not armed`);
  const { qtest, ram } = session;
  const identity = iova + BigInt(EFFECT_LENGTH) <= RAM_END && !within(ram, iova) ? iova : undefined;
  await session.driver.collectEvents();
  await qtest.memset(ram.base, ram.size, 0);
  if (identity !== undefined) await qtest.memset(identity, EFFECT_LENGTH, 0);
  await edu.fromDevice(iova, EFFECT_LENGTH);
  const changed: Array<{ at: bigint; bytes: Uint8Array }> = [];
  const ramBytes = await qtest.memread(ram.base, ram.size);
  for (const [start, end] of nonZeroRuns(ramBytes))
    changed.push({ at: ram.base + BigInt(start), bytes: ramBytes.subarray(start, end) });
  if (identity !== undefined) {
    const bytes = await qtest.memread(identity, EFFECT_LENGTH);
    for (const [start, end] of nonZeroRuns(bytes))
      changed.push({ at: identity + BigInt(start), bytes: bytes.subarray(start, end) });
  }
  if (changed.length === 0) return 'blocked';
  const [only] = changed;
  if (changed.length === 1 && Buffer.from(only!.bytes).equals(pattern)) return only!.at;
  const runs = changed.map((c) => `0x${c.at.toString(16)}: ${toHex(c.bytes)}`).join(', ');
  throw new ExpectationFailure({
    expected: `the ${EFFECT_LENGTH} bytes ${toHex(pattern)} land in one place or nowhere`,
    message: `a write of ${EFFECT_LENGTH} bytes at IOVA 0x${iova.toString(16)} by endpoint 0x${edu.endpointId.toString(16)} changed ${runs}`,
  });
}

/** Fails unless `edu`'s write at `iova` has the `expected` landing. */
export async function expectLanding(
  session: Session,
  access: Access,
  expected: Landing,
  statement: string,
): Promise<void> {
  const got = await landing(session, access.edu, access.iova);
  if (got !== expected) {
    throw new ExpectationFailure({
      expected: `${access.label}: the write ${describeLanding(expected)}`,
      message: `${statement}: ${access.label}: the write ${describeLanding(got)}`,
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

function within(region: { base: bigint; size: number }, address: bigint): boolean {
  return address >= region.base && address < region.base + BigInt(region.size);
}

/** [start, end) of each run of non-zero bytes. */
function nonZeroRuns(bytes: Uint8Array): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    const set = i < bytes.length && bytes[i] !== 0;
    if (set && start === -1) start = i;
    else if (!set && start !== -1) {
      runs.push([start, i]);
      start = -1;
    }
  }
  return runs;
}
