// MAP and UNMAP at the limits of their fields: a mapping on the last page of input_range and
// one on its first, removed by UNMAPs that end at input_range.end and start at
// input_range.start; and UNMAPs of a single byte (virt_start = virt_end) where no mapping is.
// Each of these splits no mapping, so it succeeds (dev.unmap.covered); what they removed, and
// what they left, is read back by DMA through the byte judge where edu reaches the IOVAs
// (effects.ts), and by MAP of the same page again.

import {
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
} from '../../../dist/ts/index.js';
import type { Session } from '../../session.js';
import { expectStatus, startWithEndpointAttached } from '../device-steps.js';
import { MAPPED, UNMAPPED, buildWorld } from '../effect-world.js';
import { EFFECT_LENGTH, arm, expectLanding } from '../effects.js';
import { SectionTests, Untested } from '../harness.js';

export const section = 'range-edges';
export const tests = new SectionTests();

const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);
const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** Where the two pages map: @ram + these offsets, apart, so that a wrong page lands elsewhere. */
const TOP_PHYS_OFFSET = 0x4_0000n;
const BOTTOM_PHYS_OFFSET = 0x8_0000n;

/** input_range as the driver knows it: the whole 64-bit space without F_INPUT_RANGE. */
function inputRange(
  session: Session,
  config: { input_range: { start: bigint; end: bigint } },
): { start: bigint; end: bigint } {
  return session.driver.has(VIRTIO_IOMMU_F_INPUT_RANGE)
    ? config.input_range
    : { start: 0n, end: U64_MAX };
}

const hex = (value: bigint): string => `0x${value.toString(16)}`;

tests.it(
  '[dev.unmap.covered] a mapping on the last page of input_range and one on its first page are made, reached, and removed by UNMAPs that end at input_range.end and start at input_range.start',
  async (session) => {
    const { edu, config, domain } = await startWithEndpointAttached(session);
    const { start, end } = inputRange(session, config);
    const granule = config.page_size_mask & -config.page_size_mask;
    const page = granule > 0x1000n ? granule : 0x1000n;
    if (page > TOP_PHYS_OFFSET)
      throw new Untested(`the page granularity ${hex(granule)} is larger than the test's room`);
    if (start % granule !== 0n || (end + 1n) % granule !== 0n)
      throw new Untested(
        `input_range ${hex(start)}-${hex(end)} does not begin and end on the page granularity ${hex(granule)}`,
      );
    if (end - start + 1n < 4n * page)
      throw new Untested(`input_range ${hex(start)}-${hex(end)} holds fewer than 4 pages`);
    const ram = session.ram.base;
    const pages = [
      {
        name: 'the last page of input_range',
        virt_start: end - page + 1n,
        virt_end: end,
        phys: ram + TOP_PHYS_OFFSET,
      },
      {
        name: 'the first page of input_range',
        virt_start: start,
        virt_end: start + page - 1n,
        phys: ram + BOTTOM_PHYS_OFFSET,
      },
    ];
    const map = (p: (typeof pages)[number]) =>
      expectStatus(
        session,
        'map',
        { domain, virt_start: p.virt_start, virt_end: p.virt_end, phys_start: p.phys, flags: RW },
        [VIRTIO_IOMMU_S_OK],
      );
    for (const p of pages) await map(p);
    // Where edu reaches the IOVAs, the first and the last bytes of each page translate.
    const reached = pages.filter((p) => p.virt_end <= edu.dmaMask);
    if (reached.length > 0) await arm(session, edu, Number(domain));
    const accesses = reached.flatMap((p) => [
      { p, iova: p.virt_start, at: 0n },
      { p, iova: p.virt_end + 1n - BigInt(EFFECT_LENGTH), at: page - BigInt(EFFECT_LENGTH) },
    ]);
    for (const { p, iova, at } of accesses)
      await expectLanding(
        session,
        { edu, iova, label: `@ep at ${hex(iova)} (${p.name})` },
        p.phys + at,
        `${p.name} mapped`,
      );
    const [top, bottom] = pages;
    await expectStatus(session, 'unmap', { domain, virt_start: top!.virt_start, virt_end: end }, [
      VIRTIO_IOMMU_S_OK,
    ]);
    await expectStatus(
      session,
      'unmap',
      { domain, virt_start: start, virt_end: bottom!.virt_end },
      [VIRTIO_IOMMU_S_OK],
    );
    for (const { p, iova } of accesses)
      await expectLanding(
        session,
        { edu, iova, label: `@ep at ${hex(iova)} (${p.name})` },
        'blocked',
        `UNMAP of ${p.name}`,
      );
    // Removed, the pages are free to map again.
    for (const p of pages) await map(p);
  },
);

tests.it(
  '[dev.unmap.covered] UNMAPs of a single byte (virt_start = virt_end) where no mapping is split no mapping: they succeed, and every mapping stays',
  async (session) => {
    const world = await buildWorld(session);
    const { start, end } = inputRange(session, await session.driver.readConfig());
    // Just below the world's mapping, just above it, and far from it; inside input_range only.
    const bytes = [MAPPED.virt_start - 1n, MAPPED.virt_end + 1n, UNMAPPED, start, end].filter(
      (b) => b >= start && b <= end && (b < MAPPED.virt_start || b > MAPPED.virt_end),
    );
    if (bytes.length === 0)
      throw new Untested(`input_range ${hex(start)}-${hex(end)} has no byte the test may use`);
    for (const b of bytes)
      await expectStatus(session, 'unmap', { domain: world.d(1), virt_start: b, virt_end: b }, [
        VIRTIO_IOMMU_S_OK,
      ]);
    const after = `after UNMAPs of the single bytes ${bytes.map(hex).join(', ')}`;
    const ram = session.ram.base;
    await expectLanding(
      session,
      { edu: world.ep, iova: MAPPED.virt_start, label: `@ep at ${hex(MAPPED.virt_start)}` },
      ram + MAPPED.offset,
      after,
    );
    const last = MAPPED.virt_end + 1n - BigInt(EFFECT_LENGTH);
    await expectLanding(
      session,
      { edu: world.ep, iova: last, label: `@ep at ${hex(last)}` },
      ram + MAPPED.offset + (last - MAPPED.virt_start),
      after,
    );
  },
);
