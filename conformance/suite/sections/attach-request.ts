// Device requirements: ATTACH request.

import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_UNSUPP,
  statusName,
} from '../../../dist/ts/index.js';
import { ExpectationFailure, SuiteError, toHex } from '../../scenario/expectation.js';
import {
  attachEndpoint,
  domainId,
  iovaAt,
  mapRange,
  mapStaging,
  needEdu,
  readReaches,
  startDevice,
} from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'device-requirements-attach-request';
export const tests = new SectionTests();

tests.it(
  '[dev.attach.shared-domain] MAY let a second endpoint join a domain: if so, the first still reaches its mappings',
  async (session, judgement) => {
    const edu = needEdu(session);
    const second = session.driver.eduEndpoints[1];
    if (second === undefined) throw new SuiteError('the target has no second endpoint');
    const config = await startDevice(session);
    const domain = await domainId(session);
    await attachEndpoint(session, edu.endpointId, domain);
    const join = await session.driver.request('attach', { domain, endpoint: BigInt(second) });
    if (join.status === VIRTIO_IOMMU_S_UNSUPP) {
      judgement.option('dev.attach.shared-domain', 'absent', 'the second ATTACH got S_UNSUPP');
      return;
    }
    if (join.status !== VIRTIO_IOMMU_S_OK) {
      // Not joining is allowed only with S_UNSUPP: that is the MUST's, not this MAY's.
      const got =
        join.status === undefined ? `used length ${join.usedLen}` : statusName(join.status);
      throw new ExpectationFailure(
        {
          request: toHex(join.request),
          reply: toHex(join.reply),
          expected: 'status S_OK or S_UNSUPP',
          message: `ATTACH of a second endpoint to a domain that holds one returned ${got}`,
        },
        'dev.attach.shared-domain-unsupp',
      );
    }
    if (!session.driver.has(VIRTIO_IOMMU_F_MAP_UNMAP)) {
      judgement.option('dev.attach.shared-domain', 'present', 'the second ATTACH got S_OK');
      return;
    }
    // Done right, sharing keeps the domain whole: @ep still reaches what the domain maps.
    const staging = await mapStaging(session, domain);
    const at = iovaAt(session, config, 0x1000n);
    await mapRange(session, domain, at, session.ram.base, VIRTIO_IOMMU_MAP_F_READ);
    const read = await readReaches(session, edu, staging, at, session.ram.base);
    if (read.result !== 'reached') {
      judgement.fail('dev.attach.shared-domain', {
        expected: `a read at IOVA 0x${at.toString(16)} reaches 0x${session.ram.base.toString(16)}`,
        message: `after a second endpoint joined domain ${domain}, @ep's read through the domain's mapping did not arrive (${read.seen})`,
      });
      return;
    }
    judgement.option(
      'dev.attach.shared-domain',
      'present',
      "the second ATTACH got S_OK, and @ep still reaches the domain's mappings",
    );
  },
);
