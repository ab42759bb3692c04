// Device requirements: Device operations.

import { VIRTIO_IOMMU_S_OK } from '../../../dist/ts/index.js';
import { domainId, expectStatus, fail, needEdu, startDevice } from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'device-requirements-device-operations';
export const tests = new SectionTests();

tests.it(
  '[dev.req.tail-reserved] ATTACH and DETACH replies carry zeroes in tail.reserved',
  async (session) => {
    const edu = needEdu(session);
    await startDevice(session);
    const fields = { domain: await domainId(session), endpoint: BigInt(edu.endpointId) };
    for (const verb of ['attach', 'detach'] as const) {
      const result = await expectStatus(session, verb, fields, [VIRTIO_IOMMU_S_OK]);
      const reserved = result.reply.subarray(result.reply.length - 3);
      if (reserved.some((byte) => byte !== 0)) {
        fail(
          'tail.reserved 000000',
          `${verb.toUpperCase()} left tail.reserved ${Buffer.from(reserved).toString('hex')}`,
          result,
        );
      }
    }
  },
);
