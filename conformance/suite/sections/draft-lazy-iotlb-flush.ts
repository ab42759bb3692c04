// Draft lazy-iotlb-flush (spec-src/11-lazy-iotlb-flush.md), device requirements. These run
// with `viommu conform --drafts` only, each behind the gate of draft-gate.ts (not applicable
// unless the device offers VIRTIO_IOMMU_F_LAZY_IOTLB_FLUSH). The draft's values come from
// dist/drafts/spec.json: dist/ts holds the spec alone.

import {
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  statusName,
} from '../../../dist/ts/index.js';
import type { RequestResult } from '../../driver/iommu-driver.js';
import type { Session } from '../../session.js';
import {
  domainId,
  expectStatus,
  fail,
  iovaAt,
  mapRange,
  mapStaging,
  needEdu,
  readReaches,
  startDevice,
} from '../device-steps.js';
import { draftConstant as constant, draftsModel } from '../draft-constants.js';
import { SectionTests } from '../harness.js';

export const draft = 'lazy-iotlb-flush';
export const tests = new SectionTests();

const featureBit = (): bigint =>
  1n << BigInt(draftsModel().drafts.find((d) => d.name === draft)!.featureBit);

/** Starts the device with the draft's feature accepted (draft-gate.ts has checked the offer). */
export async function startLazy(session: Session) {
  const config = await startDevice(session, { accept: featureBit() });
  return { config, iova: (offset: bigint) => iovaAt(session, config, offset) };
}

/** ATTACH, with VIRTIO_IOMMU_ATTACH_F_LAZY when `lazy`. */
function attach(session: Session, domain: bigint, endpoint: number, lazy: boolean) {
  const flags = lazy ? BigInt(constant('VIRTIO_IOMMU_ATTACH_F_LAZY')) : 0n;
  return session.driver.request('attach', { domain, endpoint: BigInt(endpoint), flags });
}

/** struct virtio_iommu_req_iotlb_flush: head, le32 domain, u8 reserved[4]; then the 4-byte tail. */
export function iotlbFlush(session: Session, domain: bigint, reserved = 0): Promise<RequestResult> {
  const readable = new Uint8Array(12);
  const view = new DataView(readable.buffer);
  readable[0] = constant('VIRTIO_IOMMU_T_IOTLB_FLUSH');
  view.setUint32(4, Number(domain), true);
  view.setUint32(8, reserved, true);
  return session.driver.requestBytes(readable, 4);
}

function expectReply(result: RequestResult, what: string, allowed: number): void {
  if (result.status === allowed) return;
  const got =
    result.status === undefined ? `used length ${result.usedLen}` : statusName(result.status);
  fail(`status ${statusName(allowed)}`, `${what} returned ${got}`, result);
}

tests.it(
  '[dev.iotlb-flush.no-domain] IOTLB_FLUSH of a domain that does not exist: S_NOENT',
  async (session) => {
    await startLazy(session);
    const domain = await domainId(session, 2);
    expectReply(
      await iotlbFlush(session, domain),
      `IOTLB_FLUSH of domain ${domain}, which does not exist`,
      VIRTIO_IOMMU_S_NOENT,
    );
  },
);

tests.it(
  '[dev.iotlb-flush.reserved] IOTLB_FLUSH with reserved set is refused with S_INVAL; without, S_OK',
  async (session) => {
    const edu = needEdu(session);
    await startLazy(session);
    const domain = await domainId(session);
    expectReply(
      await attach(session, domain, edu.endpointId, true),
      'ATTACH with VIRTIO_IOMMU_ATTACH_F_LAZY',
      VIRTIO_IOMMU_S_OK,
    );
    expectReply(
      await iotlbFlush(session, domain, 1),
      'IOTLB_FLUSH with reserved 01 00 00 00',
      VIRTIO_IOMMU_S_INVAL,
    );
    expectReply(
      await iotlbFlush(session, domain),
      'IOTLB_FLUSH with reserved zero',
      VIRTIO_IOMMU_S_OK,
    );
  },
);

tests.it(
  "[dev.lazy.flag-mismatch] ATTACH whose lazy flag differs from its existing domain's mode: S_INVAL, and the endpoint stays",
  async (session) => {
    const edu = needEdu(session);
    const { iova } = await startLazy(session);
    const lazyDomain = await domainId(session, 1);
    const strictDomain = await domainId(session, 2);
    const ep = edu.endpointId;
    expectReply(
      await attach(session, strictDomain, ep, false),
      `ATTACH to domain ${strictDomain} without the lazy flag`,
      VIRTIO_IOMMU_S_OK,
    );
    expectReply(
      await attach(session, strictDomain, ep, true),
      `ATTACH with VIRTIO_IOMMU_ATTACH_F_LAZY to domain ${strictDomain}, which is not lazy`,
      VIRTIO_IOMMU_S_INVAL,
    );
    expectReply(
      await attach(session, lazyDomain, ep, true),
      `ATTACH with VIRTIO_IOMMU_ATTACH_F_LAZY to a new domain ${lazyDomain}`,
      VIRTIO_IOMMU_S_OK,
    );
    expectReply(
      await attach(session, lazyDomain, ep, false),
      `ATTACH without the lazy flag to domain ${lazyDomain}, which is lazy`,
      VIRTIO_IOMMU_S_INVAL,
    );
    // The refused ATTACH changed nothing: @ep still translates through the lazy domain.
    const staging = await mapStaging(session, lazyDomain);
    const at = iova(0x1000n);
    const phys = session.ram.base;
    await mapRange(session, lazyDomain, at, phys, VIRTIO_IOMMU_MAP_F_READ);
    const read = await readReaches(session, edu, staging, at, phys);
    if (read.result !== 'reached')
      fail(
        `@ep stays in lazy domain ${lazyDomain}: a read at 0x${at.toString(16)} reaches its mapping`,
        `after the refused ATTACH, ${read.seen}`,
      );
  },
);

tests.it(
  '[dev.iotlb-flush.complete][dev.lazy.unmap-stale] after UNMAP in a lazy domain and a completed IOTLB_FLUSH, @ep no longer reaches the range',
  async (session, judgement) => {
    const edu = needEdu(session);
    const { iova } = await startLazy(session);
    const domain = await domainId(session);
    expectReply(
      await attach(session, domain, edu.endpointId, true),
      'ATTACH with VIRTIO_IOMMU_ATTACH_F_LAZY',
      VIRTIO_IOMMU_S_OK,
    );
    const staging = await mapStaging(session, domain);
    const at = iova(0x1000n);
    const phys = session.ram.base;
    const range = { domain, virt_start: at, virt_end: at + 0xfffn };
    await expectStatus(
      session,
      'map',
      { ...range, phys_start: phys, flags: BigInt(VIRTIO_IOMMU_MAP_F_READ) },
      [VIRTIO_IOMMU_S_OK],
    );
    const mapped = await readReaches(session, edu, staging, at, phys);
    if (mapped.result !== 'reached')
      fail(`a read at 0x${at.toString(16)} reaches the mapping`, `before UNMAP, ${mapped.seen}`);
    await expectStatus(session, 'unmap', range, [VIRTIO_IOMMU_S_OK]);
    const stale = await readReaches(session, edu, staging, at, phys);
    if (stale.result === 'elsewhere')
      fail('after UNMAP, a read reaches the old mapping or nothing', `after UNMAP, ${stale.seen}`);
    judgement.option(
      'dev.lazy.unmap-stale',
      stale.result === 'reached' ? 'present' : 'absent',
      stale.result === 'reached'
        ? 'the unmapped range stays reachable until IOTLB_FLUSH'
        : 'UNMAP alone made the range unreachable',
    );
    expectReply(
      await iotlbFlush(session, domain),
      'IOTLB_FLUSH of the lazy domain',
      VIRTIO_IOMMU_S_OK,
    );
    const flushed = await readReaches(session, edu, staging, at, phys);
    if (flushed.result !== 'blocked')
      fail(
        `after IOTLB_FLUSH completed, a read at 0x${at.toString(16)} reaches nothing`,
        `after IOTLB_FLUSH, ${flushed.seen}`,
      );
  },
);
