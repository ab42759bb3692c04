// Corners of a domain's mappings and endpoints that the scenarios do not reach: an UNMAP
// between two mappings that stay, more mappings than a small table holds, mappings made
// again after others were removed, a mapping to a physical address 4 GiB above @ram, and a
// domain shared by two endpoints when one leaves it.
// Each is read back by DMA through the byte judge (effects.ts).

import {
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_UNSUPP,
} from '../../../dist/ts/index.js';
import type { Session } from '../../session.js';
import { expectStatus } from '../device-steps.js';
import { expectLanding, expectWriteWithin, type Landing } from '../effects.js';
import { MAPPED, buildWorld, setupRequest, type World } from '../effect-world.js';
import { SectionTests, Untested } from '../harness.js';

export const section = 'mapping-corners';
export const tests = new SectionTests();

const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);
/** Where these tests place their own pages: IOVAs from 0x40000, clear of the world's mapping. */
const IOVA_BASE = 0x4_0000n;
/** An IOVA above every other mapping of these tests and the staging page, inside the narrow board's input_range. */
const TOP_IOVA = 0x700_0000n;
/** Their physical pages: @ram + 0x20000 + 2 pages per mapping, so a wrong page lands elsewhere. */
const PHYS_OFFSET = 0x2_0000n;

/** Maps the page at IOVA_BASE + k pages to @ram + PHYS_OFFSET + 2k pages in domain d(1). */
async function mapPage(session: Session, world: World, k: number): Promise<void> {
  await expectStatus(
    session,
    'map',
    {
      domain: world.d(1),
      virt_start: pageIova(k),
      virt_end: pageIova(k) + 0xfffn,
      phys_start: pagePhys(session, k),
      flags: RW,
    },
    [VIRTIO_IOMMU_S_OK],
  );
}

const pageIova = (k: number): bigint => IOVA_BASE + BigInt(k) * 0x1000n;
const pagePhys = (session: Session, k: number): bigint =>
  session.ram.base + PHYS_OFFSET + BigInt(k) * 0x2000n;

/** @ep writes 16 bytes into page k, 0x7f0 bytes in: they land at `expected`, and nowhere else. */
async function expectPage(
  session: Session,
  world: World,
  k: number,
  expected: Landing,
  after: string,
): Promise<void> {
  const iova = pageIova(k) + 0x7f0n;
  await expectLanding(
    session,
    { edu: world.ep, iova, label: `@ep at 0x${iova.toString(16)} (page ${k})` },
    expected === 'blocked' ? 'blocked' : expected + 0x7f0n,
    after,
  );
}

tests.it(
  '[dev.unmap.covered] UNMAP of a mapping between two others, or above all others, removes it alone: the rest still translate',
  async (session) => {
    const world = await buildWorld(session);
    for (const k of [0, 1, 2]) await mapPage(session, world, k);
    await expectStatus(
      session,
      'unmap',
      { domain: world.d(1), virt_start: pageIova(1), virt_end: pageIova(1) + 0xfffn },
      [VIRTIO_IOMMU_S_OK],
    );
    // And UNMAP of a mapping above every other one (above the staging page too).
    const top = { domain: world.d(1), virt_start: TOP_IOVA, virt_end: TOP_IOVA + 0xfffn };
    await expectStatus(session, 'map', { ...top, phys_start: pagePhys(session, 3), flags: RW }, [
      VIRTIO_IOMMU_S_OK,
    ]);
    await expectStatus(session, 'unmap', top, [VIRTIO_IOMMU_S_OK]);
    const after =
      'after UNMAP of the middle one of three neighbouring mappings, and of one above all others';
    await expectPage(session, world, 0, pagePhys(session, 0), after);
    await expectPage(session, world, 2, pagePhys(session, 2), after);
    await expectPage(session, world, 1, 'blocked', after);
    await expectLanding(
      session,
      { edu: world.ep, iova: MAPPED.virt_start, label: '@ep at 0x10000 (the first mapping)' },
      session.ram.base + MAPPED.offset,
      after,
    );
  },
);

/** How many mappings the next test keeps in one domain: more than a small table's 16. */
const MANY = 24;

tests.it(
  `[dev.translate.formula] ${MANY} mappings in one domain each translate to their own page, and so do mappings made again after some were removed`,
  async (session) => {
    const world = await buildWorld(session);
    for (let k = 0; k < MANY; k++) await mapPage(session, world, k);
    const after = `with ${MANY} mappings in the domain`;
    for (const k of [0, 15, 16, 17, MANY - 1])
      await expectPage(session, world, k, pagePhys(session, k), after);
    // Four removed, four new ones in their place and beyond: the device reuses what it freed.
    await expectStatus(
      session,
      'unmap',
      { domain: world.d(1), virt_start: pageIova(0), virt_end: pageIova(4) - 1n },
      [VIRTIO_IOMMU_S_OK],
    );
    for (const k of [MANY, MANY + 1, MANY + 2, MANY + 3]) await mapPage(session, world, k);
    const again = 'after UNMAP of the first 4 mappings and MAP of 4 new ones';
    for (const k of [MANY, MANY + 1, MANY + 2, MANY + 3, 4, MANY - 1])
      await expectPage(session, world, k, pagePhys(session, k), again);
    await expectPage(session, world, 0, 'blocked', again);
  },
);

/** Where the next test maps a page to @ram + 4 GiB: below the world's mapping and these tests' pages. */
const HIGH_PHYS_IOVA = 0x1000n;
/** 4 GiB: a physical address this far above @ram is at or above 4 GiB, where no board has RAM. */
const FOUR_GIB = 0x1_0000_0000n;
/** Mappings made before that one: a small table's 16, so that it does not fit in one. */
const BEFORE_HIGH = 16;

tests.it(
  `[dev.translate.formula] [dev.isolation.domain] a mapping to @ram + 4 GiB, made after ${BEFORE_HIGH} others, sends a write there: nothing lands in watched RAM, @ram in particular`,
  async (session) => {
    const world = await buildWorld(session);
    for (let k = 0; k < BEFORE_HIGH; k++) await mapPage(session, world, k);
    // A device may refuse a physical range where the board has no RAM: then this is untested.
    const phys = session.ram.base + FOUR_GIB;
    await setupRequest(session, 'map', {
      domain: world.d(1),
      virt_start: HIGH_PHYS_IOVA,
      virt_end: HIGH_PHYS_IOVA + 0xfffn,
      phys_start: phys,
      flags: RW,
    });
    // @ram is watched on every target; no mapping of the domain covers it, so a device that
    // drops the high half of phys_start (or of the mapping's end) is caught writing there.
    await expectWriteWithin(
      session,
      { edu: world.ep, iova: HIGH_PHYS_IOVA, label: `@ep at 0x${HIGH_PHYS_IOVA.toString(16)}` },
      [],
      `mapped to 0x${phys.toString(16)} (@ram + 4 GiB, no RAM) after ${BEFORE_HIGH} other mappings, the write changes no watched byte`,
    );
  },
);

tests.it(
  '[dev.attach.effective] when one of two endpoints of a domain is detached, the other stays attached: a later MAP of the domain reaches it',
  async (session) => {
    const world = await buildWorld(session);
    const ep2 = world.ep2;
    if (ep2 === undefined) throw new Untested('the target has no second endpoint');
    const shared = await expectStatus(
      session,
      'attach',
      { domain: world.d(1), endpoint: BigInt(ep2.endpointId) },
      [VIRTIO_IOMMU_S_OK, VIRTIO_IOMMU_S_UNSUPP],
    );
    if (shared.status === VIRTIO_IOMMU_S_UNSUPP)
      throw new Untested('the device does not put two endpoints in one domain (S_UNSUPP)');
    await setupRequest(session, 'detach', {
      domain: world.d(1),
      endpoint: BigInt(ep2.endpointId),
    });
    // @ep is still in d(1): the domain exists, and what it maps now, @ep reaches.
    await mapPage(session, world, 0);
    const after = `after DETACH of @ep2 from domain ${world.d(1)}, which @ep shares`;
    await expectPage(session, world, 0, pagePhys(session, 0), after);
    await expectLanding(
      session,
      { edu: world.ep, iova: MAPPED.virt_start, label: '@ep at 0x10000 (mapped before)' },
      session.ram.base + MAPPED.offset,
      after,
    );
  },
);
