// Device requirements: PCI device discovery (spec-src/09-transport.md), `dev.pci.pci-rules`:
// a 64-bit memory BAR can be placed anywhere in the 64-bit address space, above 4 GiB too,
// and the device then answers there. A device that decodes only the low half of the address
// (or takes the high half from the wrong register) answers at the wrong place.

import { VIRTIO_PCI_COMMON_CFG } from '../../../dist/ts/index.js';
import { writeBarBase } from '../../pci/bars.js';
import { QtestReplyError } from '../../qtest/errors.js';
import { SectionTests, Untested } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import { hex, iommuConfig } from '../transport-steps.js';

export const section = 'device-requirements-pci-device-discovery';
export const tests = new SectionTests();

/** Above 4 GiB, far from any RAM the targets have. */
const HIGH_BASE = 0x8_0000_0000n;

tests.it(
  '[dev.pci.pci-rules] the 64-bit memory BAR of the virtio structures placed above 4 GiB: the common configuration answers there, and at its old address no more',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { transport } = session.driver;
    const device = transport.device;
    const common = transport.layout.common;
    const bar = device.assigned.get(common.bar);
    if (bar === undefined || bar.kind !== 'memory64')
      throw new Untested(`the common configuration's BAR${common.bar} is not a 64-bit memory BAR`);
    const { config, address } = iommuConfig(session);
    const numQueues = VIRTIO_PCI_COMMON_CFG.num_queues.offset;
    const before = await transport.common.read16(numQueues);
    const high = HIGH_BASE + BigInt(common.offset) + BigInt(numQueues);
    const low = bar.base + BigInt(common.offset) + BigInt(numQueues);
    await writeBarBase(config, address, bar, HIGH_BASE);
    try {
      const there = await session.qtest.readw(high);
      let left: number | undefined;
      try {
        left = await session.qtest.readw(low);
      } catch (error) {
        // A target may refuse an access where nothing is decoded: nothing answered there.
        if (!(error instanceof QtestReplyError)) throw error;
      }
      if (there !== before)
        judgement.fail('dev.pci.pci-rules', {
          expected: `num_queues ${before} at ${hex(high)}, with BAR${bar.index} placed at ${hex(HIGH_BASE)}`,
          message: `num_queues reads ${hex(there)} there`,
        });
      if (left === before && before !== 0xffff)
        judgement.fail('dev.pci.pci-rules', {
          expected: `nothing at ${hex(low)}, BAR${bar.index}'s old place, once it was moved to ${hex(HIGH_BASE)}`,
          message: `num_queues still reads ${before} at the old address`,
        });
    } finally {
      await writeBarBase(config, address, bar, bar.base);
    }
  },
);
