// The state the effect tests start from, and the accesses that show it:
//   - @ep in domain d(1) (the first IDs of domain_range), which maps IOVA 0x10000-0x11fff to @ram+0x1000 (read-write);
//   - @ep2, when the target has it, armed through domain 2 and then detached: unattached,
//     so its DMA shows the bypass state (identity when `bypass` is 1, blocked when 0).
// A snapshot of it before and after a request shows what the request changed.

import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
} from '../../dist/ts/index.js';
import type { EduDevice } from '../edu/edu.js';
import type { FeatureChoice } from '../driver/iommu-driver.js';
import type { FieldValues, RequestVerb } from '../driver/requests.js';
import { ExpectationFailure } from '../scenario/expectation.js';
import type { Session } from '../session.js';
import { domainId, expectStatus, needEdu, needFeature, startDevice } from './device-steps.js';
import { arm, describeLanding, snapshot, type Access, type Snapshot } from './effects.js';
import { Untested } from './harness.js';

export const MAPPED = { virt_start: 0x1_0000n, virt_end: 0x1_1fffn, offset: 0x1000n } as const;
/** An IOVA domain 1 does not map. */
export const UNMAPPED = 0x2_0000n;
/** Where @ep2, unattached, writes: identity in bypass. */
export const BYPASS_PROBE_OFFSET = 0x8000n;

export interface World {
  /** The k-th domain ID of the device (domainId; k is 1, 2, 3, 7 or 9). */
  d: (k: number) => bigint;
  ep: EduDevice;
  ep2: EduDevice | undefined;
  accesses: Access[];
  endpoints: number[];
  before: Snapshot;
}

/** The request a test needs for its setup; anything but S_OK leaves the test untested. */
export async function setupRequest(
  session: Session,
  verb: RequestVerb,
  fields: FieldValues,
): Promise<void> {
  try {
    await expectStatus(session, verb, fields, [VIRTIO_IOMMU_S_OK]);
  } catch (error) {
    if (error instanceof ExpectationFailure) throw new Untested(`setup: ${error.evidence.message}`);
    throw error;
  }
}

/** Builds the world on a device started with `choice`, and takes its first snapshot. */
export async function buildWorld(session: Session, choice: FeatureChoice = {}): Promise<World> {
  needFeature(session, VIRTIO_IOMMU_F_MAP_UNMAP, 'F_MAP_UNMAP');
  const ep = needEdu(session);
  const ep2 = session.driver.edus[1];
  const ram = session.ram.base;
  await startDevice(session, choice);
  const ids = new Map<number, bigint>();
  for (const k of [1, 2, 3, 7, 9]) ids.set(k, await domainId(session, k));
  const d = (k: number): bigint => ids.get(k)!;
  await setupRequest(session, 'attach', { domain: d(1), endpoint: BigInt(ep.endpointId) });
  await arm(session, ep, Number(d(1)));
  await setupRequest(session, 'map', {
    domain: d(1),
    virt_start: MAPPED.virt_start,
    virt_end: MAPPED.virt_end,
    phys_start: ram + MAPPED.offset,
    flags: BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
  });
  const accesses: Access[] = [
    {
      edu: ep,
      iova: MAPPED.virt_start,
      label: `@ep at 0x${MAPPED.virt_start.toString(16)} (domain ${d(1)}'s mapping)`,
    },
    {
      edu: ep,
      iova: MAPPED.virt_end - 0xfn,
      label: `@ep at 0x${(MAPPED.virt_end - 0xfn).toString(16)} (end of domain ${d(1)}'s mapping)`,
    },
    { edu: ep, iova: UNMAPPED, label: `@ep at 0x${UNMAPPED.toString(16)} (unmapped)` },
  ];
  const endpoints = [ep.endpointId];
  if (ep2 !== undefined) {
    await setupRequest(session, 'attach', { domain: d(2), endpoint: BigInt(ep2.endpointId) });
    await arm(session, ep2, Number(d(2)));
    await setupRequest(session, 'detach', { domain: d(2), endpoint: BigInt(ep2.endpointId) });
    accesses.push({
      edu: ep2,
      iova: ram + BYPASS_PROBE_OFFSET,
      label: `@ep2 (unattached) at 0x${(ram + BYPASS_PROBE_OFFSET).toString(16)}`,
    });
    endpoints.push(ep2.endpointId);
  }
  const expected = ram + MAPPED.offset;
  // @ep's accesses land in the mapping or nowhere; @ep2's depends on `bypass`.
  const likely = [
    expected,
    expected + (MAPPED.virt_end - 0xfn - MAPPED.virt_start),
    'blocked',
  ] as const;
  const before = await snapshot(session, accesses, endpoints, likely);
  if (before.landings[0] !== expected) {
    throw new Untested(
      `setup: @ep's write at 0x${MAPPED.virt_start.toString(16)} should land at 0x${expected.toString(16)}, it ${describeLanding(before.landings[0]!)}`,
    );
  }
  return { d, ep, ep2, accesses, endpoints, before };
}
