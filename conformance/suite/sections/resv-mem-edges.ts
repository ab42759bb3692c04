// DMA at both edges of every RESV_MEM region of subtype RESERVED that an endpoint's PROBE
// reports and its edu reaches, on boards that have such regions (device-ref's multi-resv):
//   - attached to an ordinary domain that maps the page just below the region and the page
//     just above it, the endpoint reaches both pages (dev.translate.formula) and neither the
//     region's first nor its last bytes, which no mapping of its domain covers
//     (dev.isolation.domain);
//   - in bypass mode, every access goes through to the same guest-physical address, the
//     region's edges included (dev.bypass.identity).
// Of an MSI region, only the far edge is judged: the spec does not say what an attached
// endpoint's access to its MSI doorbell does, but the IOVAs past it are the domain's like any
// others. With the page above the region mapped, a write there lands in that page, and so does
// the tail of a write across the region's end (dev.translate.formula); its head, inside the
// region, may reach the doorbell (here the same guest-physical address) or nowhere.

import {
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
  VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
  VIRTIO_IOMMU_S_OK,
  decodeProbeProperties,
  type ProbeResvMem,
} from '../../../dist/ts/index.js';
import type { EduDevice } from '../../edu/edu.js';
import { ExpectationFailure } from '../../scenario/expectation.js';
import type { Session } from '../../session.js';
import {
  domainId,
  expectStatus,
  fail,
  needEdu,
  needFeature,
  startDevice,
} from '../device-steps.js';
import { EFFECT_LENGTH, arm, expectLanding, expectWriteWithin, type Landing } from '../effects.js';
import { SectionTests, Untested, type Judgement } from '../harness.js';

export const section = 'resv-mem-edges';
export const tests = new SectionTests();

const PAGE = 0x1000n;
const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);
const LENGTH = BigInt(EFFECT_LENGTH);
const hex = (value: bigint): string => `0x${value.toString(16)}`;

/** An endpoint and the regions of one subtype of its PROBE that the tests can reach around. */
interface Reserved {
  edu: EduDevice;
  regions: ProbeResvMem[];
}

/**
 * The regions of `subtype` (RESERVED by default) of every edu endpoint, each with a page of
 * IOVAs on either side that edu reaches, inside input_range, the region and both pages away
 * from the suite's own memory (the suite maps its staging page there, and identity accesses
 * must land in RAM the judge watches). Untested when there is none.
 */
async function reservedRegions(
  session: Session,
  subtype = VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
): Promise<Reserved[]> {
  needFeature(session, VIRTIO_IOMMU_F_PROBE, 'F_PROBE');
  needEdu(session);
  const config = await startDevice(session);
  const { start, end } = config.input_range;
  const suite = session.memory.region;
  const suiteEnd = suite.base + BigInt(suite.size);
  const ramSize = BigInt(session.target.ramSize);
  const found: Reserved[] = [];
  for (const edu of session.driver.edus) {
    const result = await expectStatus(session, 'probe', { endpoint: BigInt(edu.endpointId) }, [
      VIRTIO_IOMMU_S_OK,
    ]);
    let entries: ReturnType<typeof decodeProbeProperties>;
    try {
      entries = decodeProbeProperties(result.reply.subarray(0, config.probe_size));
    } catch (error) {
      return fail('properties that decode', (error as Error).message, result);
    }
    const regions = entries.flatMap((e) =>
      e.kind === 'resv_mem' &&
      e.property.subtype === subtype &&
      e.property.start >= start + PAGE &&
      e.property.end + PAGE <= end &&
      e.property.end + PAGE <= edu.dmaMask &&
      e.property.end < ramSize &&
      (e.property.end + PAGE < suite.base || e.property.start - PAGE >= suiteEnd)
        ? [e.property]
        : [],
    );
    if (regions.length > 0) found.push({ edu, regions });
  }
  if (found.length === 0)
    throw new Untested(
      `no endpoint reports ${subtype === VIRTIO_IOMMU_RESV_MEM_T_MSI ? 'an MSI' : 'a RESERVED'} region whose edges edu reaches`,
    );
  return found;
}

/** Runs one expectation; a failure goes to `statement` and the test goes on. */
async function recorded(
  judgement: Judgement,
  statement: string,
  expectation: () => Promise<void>,
): Promise<void> {
  try {
    await expectation();
  } catch (error) {
    if (!(error instanceof ExpectationFailure)) throw error;
    judgement.fail(statement, error.evidence);
  }
}

/** One landing check, recorded against `statement`. */
function check(
  session: Session,
  judgement: Judgement,
  statement: string,
  edu: EduDevice,
  iova: bigint,
  expected: Landing,
  where: string,
): Promise<void> {
  return recorded(judgement, statement, () =>
    expectLanding(
      session,
      { edu, iova, label: `endpoint 0x${edu.endpointId.toString(16)} at ${hex(iova)} (${where})` },
      expected,
      where,
    ),
  );
}

/** The `i`th endpoint found attached to a domain of its own, and its edu armed for checks. */
async function attachArmed(session: Session, i: number, edu: EduDevice): Promise<bigint> {
  const domain = await domainId(session, 1 + i);
  await expectStatus(session, 'attach', { domain, endpoint: BigInt(edu.endpointId) }, [
    VIRTIO_IOMMU_S_OK,
  ]);
  await arm(session, edu, Number(domain));
  return domain;
}

/** Maps one page, readable and writable, at `virtStart` to `phys`. */
async function mapPage(
  session: Session,
  domain: bigint,
  virtStart: bigint,
  phys: bigint,
): Promise<void> {
  await expectStatus(
    session,
    'map',
    { domain, virt_start: virtStart, virt_end: virtStart + PAGE - 1n, phys_start: phys, flags: RW },
    [VIRTIO_IOMMU_S_OK],
  );
}

tests.it(
  "[dev.translate.formula] [dev.isolation.domain] next to a RESERVED region, the mapped page below it and the mapped page above it translate, and the region's first and last bytes stay out of reach",
  async (session, judgement) => {
    needFeature(session, VIRTIO_IOMMU_F_MAP_UNMAP, 'F_MAP_UNMAP');
    const found = await reservedRegions(session);
    const ram = session.ram.base;
    let k = 0;
    for (const [i, { edu, regions }] of found.entries()) {
      const domain = await attachArmed(session, i, edu);
      for (const region of regions) {
        const below = {
          virt_start: region.start - PAGE,
          phys: ram + 0x2_0000n + 2n * PAGE * BigInt(k++),
        };
        const above = {
          virt_start: region.end + 1n,
          phys: ram + 0x2_0000n + 2n * PAGE * BigInt(k++),
        };
        for (const p of [below, above]) await mapPage(session, domain, p.virt_start, p.phys);
        const name = `RESERVED ${hex(region.start)}-${hex(region.end)}`;
        await check(
          session,
          judgement,
          'dev.translate.formula',
          edu,
          region.start - LENGTH,
          below.phys + PAGE - LENGTH,
          `the last bytes of the mapped page below ${name}`,
        );
        await check(
          session,
          judgement,
          'dev.translate.formula',
          edu,
          region.end + 1n,
          above.phys,
          `the first bytes of the mapped page above ${name}`,
        );
        await check(
          session,
          judgement,
          'dev.isolation.domain',
          edu,
          region.start,
          'blocked',
          `the first bytes of ${name}, which no mapping covers`,
        );
        await check(
          session,
          judgement,
          'dev.isolation.domain',
          edu,
          region.end + 1n - LENGTH,
          'blocked',
          `the last bytes of ${name}, which no mapping covers`,
        );
      }
    }
  },
);

tests.it(
  "[dev.bypass.identity] in bypass mode, an endpoint's accesses at the first and the last bytes of its RESERVED regions, and next to them, reach the same guest-physical addresses",
  async (session, judgement) => {
    needFeature(session, VIRTIO_IOMMU_F_BYPASS_CONFIG, 'F_BYPASS_CONFIG');
    const found = await reservedRegions(session);
    const { bypass } = await session.driver.readConfig();
    if (bypass !== 1)
      throw new Untested(`bypass is ${bypass} at start: endpoints are not in bypass mode`);
    for (const { edu, regions } of found) {
      await arm(session, edu);
      for (const region of regions) {
        const name = `RESERVED ${hex(region.start)}-${hex(region.end)}`;
        const accesses: [bigint, string][] = [
          [region.start - LENGTH, `just below ${name}`],
          [region.start, `the first bytes of ${name}`],
          [region.end + 1n - LENGTH, `the last bytes of ${name}`],
          [region.end + 1n, `just above ${name}`],
        ];
        for (const [iova, where] of accesses)
          await check(
            session,
            judgement,
            'dev.bypass.identity',
            edu,
            iova,
            iova,
            `${where}, in bypass mode`,
          );
      }
    }
  },
);

tests.it(
  "[dev.translate.formula] past the end of an MSI region, the mapped page above it translates: a write at its first bytes, and the tail of a write across the region's end, land in that page",
  async (session, judgement) => {
    needFeature(session, VIRTIO_IOMMU_F_MAP_UNMAP, 'F_MAP_UNMAP');
    const found = await reservedRegions(session, VIRTIO_IOMMU_RESV_MEM_T_MSI);
    const ram = session.ram.base;
    let k = 0;
    for (const [i, { edu, regions }] of found.entries()) {
      const domain = await attachArmed(session, i, edu);
      for (const region of regions) {
        const above = ram + 0x2_0000n + PAGE * BigInt(k++);
        await mapPage(session, domain, region.end + 1n, above);
        const name = `MSI ${hex(region.start)}-${hex(region.end)}`;
        await check(
          session,
          judgement,
          'dev.translate.formula',
          edu,
          region.end + 1n,
          above,
          `the first bytes of the mapped page above ${name}`,
        );
        // Half the write inside the region, half past its end.
        const inside = LENGTH / 2n;
        const iova = region.end + 1n - inside;
        const where = `a write across the end of ${name}: its head may reach the doorbell (${hex(iova)}) or nowhere, its tail the mapped page above (${hex(above)}) or nowhere`;
        await recorded(judgement, 'dev.translate.formula', () =>
          expectWriteWithin(
            session,
            { edu, iova, label: `endpoint 0x${edu.endpointId.toString(16)} at ${hex(iova)}` },
            [
              { offset: 0, length: Number(inside), address: iova },
              { offset: Number(inside), length: Number(LENGTH - inside), address: above },
            ],
            where,
          ),
        );
      }
    }
  },
);
