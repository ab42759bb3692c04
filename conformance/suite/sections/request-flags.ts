// Every flag bit of MAP and ATTACH at once, not one example value: each bit the spec does not
// define, set alone (beside MAP_F_READ for MAP), must be refused with S_INVAL
// (dev.map.unknown-flags, dev.attach.unknown-flags), whatever the features negotiated, and
// leave the state as it was: a refused MAP maps nothing (the IOVA it named stays out of reach),
// a refused ATTACH moves nothing (@ep still reaches its domain's mapping). With F_MMIO
// declined, MAP_F_MMIO is one of those bits too, and with F_BYPASS_CONFIG declined,
// ATTACH_F_BYPASS (the driver can use them only once their feature is negotiated).

import {
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_MAP_F_MMIO,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_INVAL,
  statusName,
} from '../../../dist/ts/index.js';
import type { FeatureChoice } from '../../driver/iommu-driver.js';
import type { RequestVerb } from '../../driver/requests.js';
import { toHex } from '../../scenario/expectation.js';
import type { Session } from '../../session.js';
import { featureBit } from '../../virtio/constants.js';
import { MAPPED, UNMAPPED, buildWorld, type World } from '../effect-world.js';
import { expectLanding, expectLandings } from '../effects.js';
import { NotApplicable, SectionTests, type Judgement } from '../harness.js';

export const section = 'request-flags';
export const tests = new SectionTests();

const READ = BigInt(VIRTIO_IOMMU_MAP_F_READ);
const hex = (value: bigint): string => `0x${value.toString(16)}`;

/** The bits of a 32-bit flags field that are not in `defined`. */
function undefinedBits(defined: number): bigint[] {
  return Array.from({ length: 32 }, (_, bit) => 1n << BigInt(bit)).filter(
    (flag) => (flag & BigInt(defined)) === 0n,
  );
}

/** Sends `verb` once for each flag of `flags`; each reply other than S_INVAL fails `statement`. */
async function expectEachRefused(
  session: Session,
  judgement: Judgement,
  statement: string,
  verb: RequestVerb,
  flags: bigint[],
  fields: (flag: bigint) => Record<string, bigint>,
): Promise<void> {
  const accepted: string[] = [];
  let first: { request: string; reply: string } | undefined;
  for (const flag of flags) {
    const result = await session.driver.request(verb, fields(flag));
    if (result.status === VIRTIO_IOMMU_S_INVAL) continue;
    const got =
      result.status === undefined ? `used length ${result.usedLen}` : statusName(result.status);
    accepted.push(`${hex(flag)}: ${got}`);
    first ??= { request: toHex(result.request), reply: toHex(result.reply) };
  }
  if (accepted.length > 0)
    judgement.fail(statement, {
      ...first,
      expected: `status S_INVAL for each flag bit the device does not recognize`,
      message: `${verb.toUpperCase()} with ${accepted.length} of ${flags.length} such bits was not refused with S_INVAL: ${accepted.join(', ')}`,
    });
}

/** After the refused MAPs, @ep still reaches its mapping and nothing at UNMAPPED. */
async function expectNothingMapped(session: Session, world: World, after: string): Promise<void> {
  await expectLandings(session, [
    {
      access: {
        edu: world.ep,
        iova: UNMAPPED,
        label: `@ep at ${hex(UNMAPPED)} (named by the refused MAPs)`,
      },
      expected: 'blocked',
      statement: after,
    },
    {
      access: { edu: world.ep, iova: MAPPED.virt_start, label: `@ep at ${hex(MAPPED.virt_start)}` },
      expected: session.ram.base + MAPPED.offset,
      statement: after,
    },
  ]);
}

async function mapFlags(session: Session, judgement: Judgement, choice: FeatureChoice) {
  const world = await buildWorld(session, choice);
  const known =
    VIRTIO_IOMMU_MAP_F_READ |
    VIRTIO_IOMMU_MAP_F_WRITE |
    (session.driver.has(VIRTIO_IOMMU_F_MMIO) ? VIRTIO_IOMMU_MAP_F_MMIO : 0);
  const flags = undefinedBits(known);
  await expectEachRefused(session, judgement, 'dev.map.unknown-flags', 'map', flags, (flag) => ({
    domain: world.d(1),
    virt_start: UNMAPPED,
    virt_end: UNMAPPED + 0xfffn,
    phys_start: session.ram.base + 0x4_0000n,
    flags: READ | flag,
  }));
  await expectNothingMapped(session, world, `after MAPs with each of ${flags.length} flag bits`);
}

tests.it(
  '[dev.map.unknown-flags] each flag bit the spec does not define, set alone beside MAP_F_READ, is refused with S_INVAL and maps nothing',
  async (session, judgement) => mapFlags(session, judgement, {}),
);

tests.it(
  '[dev.map.unknown-flags] with F_MMIO declined, each flag bit but MAP_F_READ and MAP_F_WRITE, set alone beside MAP_F_READ, is refused with S_INVAL and maps nothing',
  async (session, judgement) => {
    if ((session.driver.offered & featureBit(VIRTIO_IOMMU_F_MMIO)) === 0n)
      throw new NotApplicable('needs F_MMIO: not offered');
    await mapFlags(session, judgement, { decline: featureBit(VIRTIO_IOMMU_F_MMIO) });
  },
);

async function attachFlags(session: Session, judgement: Judgement, choice: FeatureChoice) {
  const world = await buildWorld(session, choice);
  const known = session.driver.has(VIRTIO_IOMMU_F_BYPASS_CONFIG) ? VIRTIO_IOMMU_ATTACH_F_BYPASS : 0;
  const flags = undefinedBits(known);
  await expectEachRefused(
    session,
    judgement,
    'dev.attach.unknown-flags',
    'attach',
    flags,
    (flag) => ({ domain: world.d(2), endpoint: BigInt(world.ep.endpointId), flags: flag }),
  );
  // @ep is still in d(1): its write through the domain's mapping lands where it did.
  await expectLanding(
    session,
    { edu: world.ep, iova: MAPPED.virt_start, label: `@ep at ${hex(MAPPED.virt_start)}` },
    session.ram.base + MAPPED.offset,
    `after ATTACHes to domain ${world.d(2)} with each of ${flags.length} flag bits`,
  );
}

tests.it(
  '[dev.attach.unknown-flags] each flag bit the spec does not define, set alone, is refused with S_INVAL and moves no endpoint',
  async (session, judgement) => attachFlags(session, judgement, {}),
);

tests.it(
  '[dev.attach.unknown-flags] with F_BYPASS_CONFIG declined, each flag bit, ATTACH_F_BYPASS too, set alone, is refused with S_INVAL and moves no endpoint',
  async (session, judgement) => {
    if ((session.driver.offered & featureBit(VIRTIO_IOMMU_F_BYPASS_CONFIG)) === 0n)
      throw new NotApplicable('needs F_BYPASS_CONFIG: not offered');
    await attachFlags(session, judgement, { decline: featureBit(VIRTIO_IOMMU_F_BYPASS_CONFIG) });
  },
);
