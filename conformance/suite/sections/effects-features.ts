// The device acts on the features negotiated and on the values the spec allows, nothing
// else: a `bypass` write without F_BYPASS_CONFIG negotiated, or of a value other than 0 or 1,
// and what the unattached endpoint's DMA then does.

import {
  VIRTIO_IOMMU_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_S_OK,
} from '../../../dist/ts/index.js';
import type { EduDevice } from '../../edu/edu.js';
import type { Session } from '../../session.js';
import { featureBit } from '../../virtio/constants.js';
import {
  domainId,
  expectStatus,
  fail,
  needEdu,
  needFeature,
  startDevice,
} from '../device-steps.js';
import { arm, describeLanding, expectLanding, landing } from '../effects.js';
import { SectionTests, Untested } from '../harness.js';

export const section = 'effects-of-features-and-values';
export const tests = new SectionTests();

const DECLINE_BYPASS = {
  decline: featureBit(VIRTIO_IOMMU_F_BYPASS_CONFIG) | featureBit(VIRTIO_IOMMU_F_BYPASS),
};

/** Arms @ep through a domain it leaves again: it works whatever the bypass state. */
async function armUnattached(session: Session, edu: EduDevice): Promise<void> {
  const domain = await domainId(session);
  const fields = { domain, endpoint: BigInt(edu.endpointId) };
  await expectStatus(session, 'attach', fields, [VIRTIO_IOMMU_S_OK]);
  await arm(session, edu, Number(domain));
  await expectStatus(session, 'detach', fields, [VIRTIO_IOMMU_S_OK]);
}

/** Where an unattached endpoint's write at @ram+0x8000 goes, by the bypass value. */
function bypassLanding(session: Session, bypass: number): bigint | 'blocked' {
  return bypass === 1 ? session.ram.base + 0x8000n : 'blocked';
}

async function readBypass(session: Session): Promise<number> {
  return (await session.driver.readConfig()).bypass;
}

/**
 * With F_BYPASS_CONFIG declined and bypass reading the other value, writes `value`: bypass
 * must keep its value, and the unattached endpoint's DMA must still do what that value says.
 */
async function expectBypassWriteIgnored(
  session: Session,
  edu: EduDevice,
  value: 0 | 1,
): Promise<void> {
  const kept = 1 - value;
  await armUnattached(session, edu);
  await session.driver.writeConfig('bypass', BigInt(value));
  const now = await readBypass(session);
  if (now !== kept)
    fail(
      `bypass still ${kept}`,
      `bypass reads ${now} after a write of ${value} without F_BYPASS_CONFIG`,
    );
  await expectLanding(
    session,
    { edu, iova: session.ram.base + 0x8000n, label: '@ep (unattached)' },
    bypassLanding(session, kept),
    `after a write of ${value} to bypass without F_BYPASS_CONFIG`,
  );
}

tests.it(
  '[dev.bypass.identity] with F_BYPASS_CONFIG declined, a write of 0 to bypass does not take an unattached endpoint out of bypass',
  async (session) => {
    needFeature(session, VIRTIO_IOMMU_F_BYPASS_CONFIG, 'F_BYPASS_CONFIG');
    const edu = needEdu(session);
    await startDevice(session, DECLINE_BYPASS);
    if ((await readBypass(session)) !== 1) throw new Untested('bypass does not start at 1');
    await expectBypassWriteIgnored(session, edu, 0);
  },
);

tests.it(
  '[dev.bypass.unattached-blocked] with F_BYPASS_CONFIG declined, a write of 1 to bypass does not put an unattached endpoint in bypass',
  async (session) => {
    needFeature(session, VIRTIO_IOMMU_F_BYPASS_CONFIG, 'F_BYPASS_CONFIG');
    const edu = needEdu(session);
    // bypass=0 with the feature, then a device reset without it: bypass stays 0
    // (dev.config.bypass-device-reset).
    await startDevice(session, { decline: featureBit(VIRTIO_IOMMU_F_BYPASS) });
    await session.driver.writeConfig('bypass', 0n);
    await startDevice(session, DECLINE_BYPASS);
    if ((await readBypass(session)) !== 0)
      throw new Untested('bypass did not keep 0 over a device reset');
    await expectBypassWriteIgnored(session, edu, 1);
  },
);

tests.it(
  '[dev.config.bypass-value] after writes of 2 and 0xff to bypass, it shows 0 or 1 and unattached DMA agrees with it',
  async (session) => {
    needFeature(session, VIRTIO_IOMMU_F_BYPASS_CONFIG, 'F_BYPASS_CONFIG');
    const edu = needEdu(session);
    await startDevice(session, { decline: featureBit(VIRTIO_IOMMU_F_BYPASS) });
    await armUnattached(session, edu);
    for (const start of [0n, 1n]) {
      for (const value of [2n, 0xffn]) {
        await session.driver.writeConfig('bypass', start);
        await session.driver.writeConfig('bypass', value);
        const shown = await readBypass(session);
        if (shown !== 0 && shown !== 1)
          fail('bypass 0|1', `bypass reads ${shown} after writes of ${start} and ${value}`);
        const got = await landing(session, edu, session.ram.base + 0x8000n);
        const expected = bypassLanding(session, shown);
        if (got !== expected)
          fail(
            `an unattached endpoint's write ${describeLanding(expected)}, as bypass ${shown} says`,
            `after writes of ${start} and ${value}, bypass shows ${shown} but the write ${describeLanding(got)}`,
          );
      }
    }
  },
);
