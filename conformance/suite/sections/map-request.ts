// Device requirements: MAP request.

import { VIRTIO_IOMMU_MAP_F_WRITE } from '../../../dist/ts/index.js';
import { ExpectationFailure } from '../../scenario/expectation.js';
import { patternFor } from '../../scenario/pattern.js';
import { mapRange, mapStaging, readReaches, startWithEndpointAttached } from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'device-requirements-map-request';
export const tests = new SectionTests();

/** The statement a write that misses its WRITE mapping breaks: where a mapped access goes. */
const TRANSLATION = 'dev.translate.formula';

tests.it(
  '[dev.map.write-only] MAY let reads through a mapping with WRITE and without READ: if so, to the mapped place',
  async (session, judgement) => {
    const { edu, domain, iova } = await startWithEndpointAttached(session);
    const at = iova(0x1000n);
    const { ram, qtest } = session;
    const staging = await mapStaging(session, domain);
    await mapRange(session, domain, at, ram.base, VIRTIO_IOMMU_MAP_F_WRITE);
    // Writes must go through: that is what the mapping is for, not this MAY's question.
    const pattern = patternFor('dev.map.write-only', 16);
    await edu.loadBuffer(pattern, staging);
    await qtest.memset(ram.base, 16, 0);
    await edu.fromDevice(at, 16);
    const arrived = await qtest.memread(ram.base, 16);
    if (!Buffer.from(arrived).equals(pattern)) {
      throw new ExpectationFailure(
        {
          expected: `a write at IOVA 0x${at.toString(16)} reaches 0x${ram.base.toString(16)}`,
          message: `through a WRITE-only mapping, memory there holds ${Buffer.from(arrived).toString('hex')}`,
        },
        TRANSLATION,
      );
    }
    const read = await readReaches(session, edu, staging, at, ram.base);
    if (read.result === 'elsewhere') {
      judgement.fail('dev.map.write-only', {
        expected: `a read at IOVA 0x${at.toString(16)} is blocked or reaches 0x${ram.base.toString(16)}`,
        message: `a read through a WRITE-only mapping brought bytes from elsewhere (${read.seen})`,
      });
      return;
    }
    judgement.option(
      'dev.map.write-only',
      read.result === 'reached' ? 'present' : 'absent',
      read.result === 'reached'
        ? 'a read through a WRITE-only mapping reaches the mapped page'
        : 'a read through a WRITE-only mapping is blocked',
    );
  },
);
