// Effects of accepted requests: a request the device accepts did what it says, read back by
// DMA of both endpoints (effect-world.ts).

import {
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_UNSUPP,
} from '../../../dist/ts/index.js';
import type { Session } from '../../session.js';
import { expectStatus } from '../device-steps.js';
import { expectLandings, type Access, type LandingCheck } from '../effects.js';
import { MAPPED, UNMAPPED, buildWorld, setupRequest, type World } from '../effect-world.js';
import { SectionTests, Untested } from '../harness.js';

export const section = 'effects-of-accepted-requests';
export const tests = new SectionTests();

function needSecond(world: World): NonNullable<World['ep2']> {
  if (world.ep2 === undefined) throw new Untested('the target has no second endpoint');
  return world.ep2;
}

/** The check that `access` lands `offset` bytes into domain 1's mapping target, at @ram+0x1000. */
function inDomainOne(
  session: Session,
  access: Access,
  offset: bigint,
  statement: string,
): LandingCheck {
  return { access, expected: session.ram.base + MAPPED.offset + offset, statement };
}

tests.it(
  "[dev.attach.effective] a second endpoint attached to a domain reaches the domain's mappings, as the first still does",
  async (session) => {
    const world = await buildWorld(session);
    const ep2 = needSecond(world);
    const result = await expectStatus(
      session,
      'attach',
      { domain: world.d(1), endpoint: BigInt(ep2.endpointId) },
      [VIRTIO_IOMMU_S_OK, VIRTIO_IOMMU_S_UNSUPP],
    );
    if (result.status === VIRTIO_IOMMU_S_UNSUPP)
      throw new Untested('the device does not put two endpoints in one domain (S_UNSUPP)');
    const end = MAPPED.virt_end - 0xfn;
    const statement = `after ATTACH of @ep2 to domain ${world.d(1)}`;
    await expectLandings(
      session,
      [world.ep, ep2].flatMap((edu) => {
        const name = edu === world.ep ? '@ep' : '@ep2';
        return [
          inDomainOne(
            session,
            {
              edu,
              iova: MAPPED.virt_start,
              label: `${name} at 0x${MAPPED.virt_start.toString(16)}`,
            },
            0n,
            statement,
          ),
          inDomainOne(
            session,
            { edu, iova: end, label: `${name} at 0x${end.toString(16)}` },
            end - MAPPED.virt_start,
            statement,
          ),
          {
            access: {
              edu,
              iova: UNMAPPED,
              label: `${name} at 0x${UNMAPPED.toString(16)} (unmapped)`,
            },
            expected: 'blocked' as const,
            statement,
          },
        ];
      }),
    );
  },
);

tests.it(
  '[dev.detach.not-attached] DETACH naming a domain the endpoint is not in leaves it in its own domain',
  async (session) => {
    const world = await buildWorld(session);
    const ep2 = needSecond(world);
    const ram = session.ram.base;
    // @ep2 into domain d(2), where 0x10000 maps to @ram+0x3000.
    await setupRequest(session, 'attach', { domain: world.d(2), endpoint: BigInt(ep2.endpointId) });
    await setupRequest(session, 'map', {
      domain: world.d(2),
      virt_start: MAPPED.virt_start,
      virt_end: MAPPED.virt_start + 0xfffn,
      phys_start: ram + 0x3000n,
      flags: BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
    });
    const ep = BigInt(world.ep.endpointId);
    for (const domain of [world.d(2), world.d(7)]) {
      await expectStatus(session, 'detach', { domain, endpoint: ep }, [
        VIRTIO_IOMMU_S_OK,
        VIRTIO_IOMMU_S_INVAL,
      ]);
      const statement = `after DETACH of @ep from domain ${domain}, which does not hold it`;
      await expectLandings(session, [
        inDomainOne(
          session,
          {
            edu: world.ep,
            iova: MAPPED.virt_start,
            label: `@ep at 0x10000 (domain ${world.d(1)})`,
          },
          0n,
          statement,
        ),
        {
          access: {
            edu: ep2,
            iova: MAPPED.virt_start,
            label: `@ep2 at 0x10000 (domain ${world.d(2)})`,
          },
          expected: ram + 0x3000n,
          statement,
        },
      ]);
    }
  },
);

tests.it(
  '[dev.attach.same-domain] ATTACH of an endpoint to the domain it is in leaves the domain and its mappings as they are',
  async (session) => {
    const world = await buildWorld(session);
    const ep = BigInt(world.ep.endpointId);
    await expectStatus(session, 'attach', { domain: world.d(1), endpoint: ep }, [
      VIRTIO_IOMMU_S_OK,
    ]);
    const statement = `after ATTACH of @ep to domain ${world.d(1)} again`;
    await expectLandings(session, [
      inDomainOne(
        session,
        { edu: world.ep, iova: MAPPED.virt_start, label: '@ep at 0x10000' },
        0n,
        statement,
      ),
      {
        access: { edu: world.ep, iova: UNMAPPED, label: '@ep at 0x20000 (unmapped)' },
        expected: 'blocked',
        statement,
      },
    ]);
  },
);
