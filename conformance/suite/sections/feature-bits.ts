// Device requirements: Feature bits.

import { VIRTIO_IOMMU_F_BYPASS, VIRTIO_IOMMU_F_BYPASS_CONFIG } from '../../../dist/ts/index.js';
import { featureBit } from '../../virtio/constants.js';
import { fail } from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'device-requirements-feature-bits';
export const tests = new SectionTests();

tests.it(
  '[dev.features.no-legacy-bypass] the device does not offer VIRTIO_IOMMU_F_BYPASS',
  async ({ driver }) => {
    if ((driver.offered & featureBit(VIRTIO_IOMMU_F_BYPASS)) !== 0n) {
      fail(
        'F_BYPASS not offered',
        `device features 0x${driver.offered.toString(16)} include F_BYPASS`,
      );
    }
  },
);

tests.it(
  '[dev.features.bypass-exclusive] F_BYPASS and F_BYPASS_CONFIG are not offered together',
  async ({ driver }) => {
    const both = featureBit(VIRTIO_IOMMU_F_BYPASS) | featureBit(VIRTIO_IOMMU_F_BYPASS_CONFIG);
    if ((driver.offered & both) === both) {
      fail(
        'not both F_BYPASS and F_BYPASS_CONFIG',
        `device features 0x${driver.offered.toString(16)} include both`,
      );
    }
  },
);
