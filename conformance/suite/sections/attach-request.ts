// Device requirements: ATTACH request.

import { VIRTIO_IOMMU_S_OK, VIRTIO_IOMMU_S_UNSUPP } from '../../../dist/ts/index.js';
import { attachEndpoint, domainId, expectStatus, needEdu, startDevice } from '../device-steps.js';
import { SectionTests, Untested } from '../harness.js';

export const section = 'device-requirements-attach-request';
export const tests = new SectionTests();

tests.it(
  '[dev.attach.shared-domain] a second endpoint joins a domain that holds one: S_OK or S_UNSUPP',
  async (session) => {
    const edu = needEdu(session);
    const second = session.driver.eduEndpoints[1];
    if (second === undefined) throw new Untested('the target has no second endpoint');
    await startDevice(session);
    const domain = await domainId(session);
    await attachEndpoint(session, edu.endpointId, domain);
    await expectStatus(session, 'attach', { domain, endpoint: BigInt(second) }, [
      VIRTIO_IOMMU_S_OK,
      VIRTIO_IOMMU_S_UNSUPP,
    ]);
  },
);
