// Effects of refused requests: a request the device refuses leaves every mapping, every
// attachment and the bypass state exactly as they were, shown by DMA of both endpoints, by
// `bypass` and by PROBE before and after (effect-world.ts). Each test is tagged with the
// statement that makes the device refuse the request.

import {
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_MAP_F_MMIO,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
  statusName,
} from '../../../dist/ts/index.js';
import type { FeatureChoice } from '../../driver/iommu-driver.js';
import type { FieldValues, RequestVerb } from '../../driver/requests.js';
import { ExpectationFailure, toHex } from '../../scenario/expectation.js';
import type { Session } from '../../session.js';
import { featureBit } from '../../virtio/constants.js';
import { EFFECT_LENGTH, expectLanding, expectUnchanged, snapshot } from '../effects.js';
import { EDU_DEFAULT_DMA_MASK } from '../../edu/edu.js';
import { nonexistentEndpoint } from '../device-steps.js';
import { MAPPED, UNMAPPED, buildWorld, type World } from '../effect-world.js';
import { NotApplicable, SectionTests, Untested } from '../harness.js';

export const section = 'effects-of-refused-requests';
export const tests = new SectionTests();

const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);

interface RefusalCase {
  title: string;
  /** What the device may do instead of refusing: `fail` where the statement says MUST refuse. */
  ifAccepted: 'fail' | 'untested';
  choice?: FeatureChoice;
  /** Not applicable (with the reason) on devices where the request is not refused. */
  applies?: (session: Session, world: World) => Promise<string | undefined>;
  request: (
    world: World,
    session: Session,
  ) =>
    | { verb: RequestVerb; fields: FieldValues }
    | Promise<{ verb: RequestVerb; fields: FieldValues }>;
  /** IOVAs the refused request named, where @ep's writes must stay blocked. */
  stillBlocked?: (fields: FieldValues) => bigint[];
}

function refusal(c: RefusalCase): void {
  tests.it(c.title, async (session) => {
    const world = await buildWorld(session, c.choice);
    const skip = await c.applies?.(session, world);
    if (skip !== undefined) throw new NotApplicable(skip);
    const { verb, fields } = await c.request(world, session);
    const result = await session.driver.request(verb, fields);
    const what = `${verb.toUpperCase()} ${Object.entries(fields)
      .map(([k, v]) => `${k}=0x${v.toString(16)}`)
      .join(' ')}`;
    if (result.status === VIRTIO_IOMMU_S_OK) {
      if (c.ifAccepted === 'untested')
        throw new Untested(`the device accepted ${what}: no refusal whose effects to check`);
      throw new ExpectationFailure({
        request: toHex(result.request),
        reply: toHex(result.reply),
        expected: 'the request refused',
        message: `${what} returned S_OK`,
      });
    }
    const status =
      result.status === undefined ? `used length ${result.usedLen}` : statusName(result.status);
    const after = await snapshot(session, world.accesses, world.endpoints, world.before.landings);
    expectUnchanged(world.before, after, world.accesses, `${what} (refused: ${status})`);
    for (const iova of c.stillBlocked?.(fields) ?? []) {
      if (iova + BigInt(EFFECT_LENGTH) > EDU_DEFAULT_DMA_MASK + 1n) continue;
      const label = `@ep at 0x${iova.toString(16)}, which the refused request named`;
      await expectLanding(session, { edu: world.ep, iova, label }, 'blocked', `after ${what}`);
    }
  });
}

const ep = (world: World): bigint => BigInt(world.ep.endpointId);
const ep2 = (world: World): bigint => {
  if (world.ep2 === undefined) throw new Untested('the target has no second endpoint');
  return BigInt(world.ep2.endpointId);
};

refusal({
  title: '[dev.attach.reserved] a refused ATTACH with reserved set changes nothing',
  ifAccepted: 'fail',
  request: (w) => ({ verb: 'attach', fields: { domain: w.d(3), endpoint: ep(w), reserved: 1n } }),
});

refusal({
  title:
    '[dev.attach.unknown-flags] a refused ATTACH with an unknown flag changes nothing (attached endpoint)',
  ifAccepted: 'fail',
  request: (w) => ({ verb: 'attach', fields: { domain: w.d(3), endpoint: ep(w), flags: 0x2n } }),
});

refusal({
  title:
    '[dev.attach.unknown-flags] a refused ATTACH with an unknown flag changes nothing (unattached endpoint)',
  ifAccepted: 'fail',
  request: (w) => ({
    verb: 'attach',
    fields: { domain: w.d(1), endpoint: ep2(w), flags: 0x8000_0000n },
  }),
});

refusal({
  title: '[dev.attach.noent] a refused ATTACH of an endpoint that does not exist changes nothing',
  ifAccepted: 'fail',
  request: async (w, session) => ({
    verb: 'attach',
    fields: { domain: w.d(1), endpoint: await nonexistentEndpoint(session) },
  }),
});

refusal({
  title: '[dev.detach.noent] a refused DETACH of an endpoint that does not exist changes nothing',
  ifAccepted: 'fail',
  request: async (w, session) => ({
    verb: 'detach',
    fields: { domain: w.d(1), endpoint: await nonexistentEndpoint(session) },
  }),
});

refusal({
  title: '[dev.attach.move-unsupp] a refused move to another domain changes nothing',
  ifAccepted: 'untested',
  request: (w) => ({ verb: 'attach', fields: { domain: w.d(3), endpoint: ep(w) } }),
});

refusal({
  title:
    '[dev.attach.shared-domain-unsupp] a refused ATTACH to a domain holding another endpoint changes nothing',
  ifAccepted: 'untested',
  request: (w) => ({ verb: 'attach', fields: { domain: w.d(1), endpoint: ep2(w) } }),
});

refusal({
  title:
    '[dev.attach.bypass-mismatch] a refused ATTACH with the bypass flag to an ordinary domain changes nothing',
  ifAccepted: 'untested',
  applies: async (session) =>
    session.driver.has(VIRTIO_IOMMU_F_BYPASS_CONFIG) ? undefined : 'needs F_BYPASS_CONFIG',
  request: (w) => ({
    verb: 'attach',
    fields: { domain: w.d(1), endpoint: ep2(w), flags: BigInt(VIRTIO_IOMMU_ATTACH_F_BYPASS) },
  }),
});

refusal({
  title: '[dev.map.unknown-flags] a refused MAP with an unknown flag changes nothing',
  ifAccepted: 'fail',
  request: (w, session) => ({
    verb: 'map',
    fields: mapFields(w, session, UNMAPPED, 0x1000n, 0x9n),
  }),
});

refusal({
  title:
    '[dev.map.unknown-flags] with F_MMIO declined, a MAP with MAP_F_MMIO is refused and changes nothing',
  ifAccepted: 'fail',
  choice: { decline: featureBit(VIRTIO_IOMMU_F_MMIO) },
  applies: async (session) =>
    (session.driver.offered & featureBit(VIRTIO_IOMMU_F_MMIO)) === 0n
      ? 'needs F_MMIO: not offered'
      : undefined,
  request: (w, session) => ({
    verb: 'map',
    fields: mapFields(w, session, UNMAPPED, 0x1000n, RW | BigInt(VIRTIO_IOMMU_MAP_F_MMIO)),
  }),
});

refusal({
  title: '[dev.map.overlap] a refused MAP over a mapped range changes nothing',
  ifAccepted: 'untested',
  request: (w, session) => ({
    verb: 'map',
    fields: mapFields(w, session, MAPPED.virt_start + 0x1000n, 0x2000n, RW),
  }),
});

refusal({
  title: '[dev.map.alignment] a refused MAP off the page grid changes nothing',
  ifAccepted: 'untested',
  applies: async (session) => {
    const { page_size_mask } = await session.driver.readConfig();
    const page = page_size_mask & -page_size_mask;
    return page < 0x1000n
      ? `needs @page>=0x1000: the page granularity is 0x${page.toString(16)}`
      : undefined;
  },
  request: (w, session) => ({
    verb: 'map',
    fields: mapFields(w, session, UNMAPPED + 0x800n, 0x1000n, RW),
  }),
});

refusal({
  title: '[dev.map.noent] a refused MAP into a domain that does not exist changes nothing',
  ifAccepted: 'untested',
  request: (w, session) => ({
    verb: 'map',
    fields: { ...mapFields(w, session, UNMAPPED, 0x1000n, RW), domain: w.d(9) },
  }),
});

refusal({
  title: '[dev.unmap.split-keep] a refused UNMAP that starts inside a mapping changes nothing',
  ifAccepted: 'untested',
  request: (w) => ({
    verb: 'unmap',
    fields: {
      domain: w.d(1),
      virt_start: MAPPED.virt_start + 0x1000n,
      virt_end: UNMAPPED + 0xfffn,
    },
  }),
});

refusal({
  title: '[dev.unmap.split-keep] a refused UNMAP that ends inside a mapping changes nothing',
  ifAccepted: 'untested',
  request: (w) => ({
    verb: 'unmap',
    fields: { domain: w.d(1), virt_start: MAPPED.virt_start, virt_end: MAPPED.virt_start + 0xfffn },
  }),
});

refusal({
  title: '[dev.probe.noent] a refused PROBE of an endpoint that does not exist changes nothing',
  ifAccepted: 'untested',
  applies: async (session) =>
    session.driver.has(VIRTIO_IOMMU_F_PROBE) ? undefined : 'needs F_PROBE: not offered',
  request: async (_, session) => ({
    verb: 'probe',
    fields: { endpoint: await nonexistentEndpoint(session) },
  }),
});

/** MAP into domain 1 of `size` bytes at `virt_start`, to @ram+0x40000 (which nothing else maps). */
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const U32_MAX = 0xffff_ffff;

refusal({
  title:
    '[dev.map.input-range] a MAP that runs past the end of input_range fails and maps none of it',
  ifAccepted: 'fail',
  applies: async (session) => {
    if (!session.driver.has(VIRTIO_IOMMU_F_INPUT_RANGE)) return 'needs F_INPUT_RANGE';
    const { input_range } = await session.driver.readConfig();
    if (input_range.end > U64_MAX - 0x1000n) return 'input_range reaches the last address';
    return undefined;
  },
  request: async (w, session) => {
    const { input_range } = await session.driver.readConfig();
    // The last page of input_range and the page after it.
    return { verb: 'map', fields: mapFields(w, session, input_range.end - 0xfffn, 0x2000n, RW) };
  },
  stillBlocked: (fields) => [fields['virt_start']!, fields['virt_start']! + 0x1000n],
});

refusal({
  title:
    '[dev.attach.domain-range] an ATTACH to the domain after domain_range fails and attaches nothing',
  ifAccepted: 'fail',
  applies: async (session) => {
    if (!session.driver.has(VIRTIO_IOMMU_F_DOMAIN_RANGE)) return 'needs F_DOMAIN_RANGE';
    const { domain_range } = await session.driver.readConfig();
    return domain_range.end === U32_MAX ? 'domain_range reaches the last domain ID' : undefined;
  },
  request: async (w, session) => {
    const { domain_range } = await session.driver.readConfig();
    return { verb: 'attach', fields: { domain: BigInt(domain_range.end) + 1n, endpoint: ep(w) } };
  },
});

refusal({
  title:
    '[dev.attach.domain-range] an ATTACH to the domain before domain_range fails and attaches nothing',
  ifAccepted: 'fail',
  applies: async (session) => {
    if (!session.driver.has(VIRTIO_IOMMU_F_DOMAIN_RANGE)) return 'needs F_DOMAIN_RANGE';
    const { domain_range } = await session.driver.readConfig();
    return domain_range.start === 0 ? 'domain_range starts at domain 0' : undefined;
  },
  request: async (w, session) => {
    const { domain_range } = await session.driver.readConfig();
    return {
      verb: 'attach',
      fields: { domain: BigInt(domain_range.start) - 1n, endpoint: ep2(w) },
    };
  },
});

function mapFields(
  w: World,
  session: Session,
  virt_start: bigint,
  size: bigint,
  flags: bigint,
): FieldValues {
  const phys_start = session.ram.base + 0x4_0000n;
  return { domain: w.d(1), virt_start, virt_end: virt_start + size - 1n, phys_start, flags };
}
