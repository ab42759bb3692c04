// Device requirements: PCI device discovery, `dev.pci.pci-rules` (spec-src/09-transport.md),
// for accesses a careless driver makes to the common configuration: reads at offsets where no
// field starts, and queue registers written while queue_select names no virtqueue. What the
// device answers or does with them no rule fixes; but a memory access to a BAR the function
// decodes completes on PCI, so the device answers every one of them and still works after.

import { VIRTIO_PCI_COMMON_CFG } from '../../../dist/ts/index.js';
import { QtestReplyError } from '../../qtest/errors.js';
import { attachEndpoint, needEdu, startDevice } from '../device-steps.js';
import { SectionTests, type Judgement } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import { hex } from '../transport-steps.js';

export const section = 'device-requirements-pci-device-discovery';
export const tests = new SectionTests();

/** Common-configuration reads where no field of virtio 1.2 starts: inside one, and past all. */
const STRAY_READS: readonly { offset: number; size: 1 | 2 | 4 }[] = [
  { offset: VIRTIO_PCI_COMMON_CFG.device_feature_select.offset + 1, size: 1 },
  { offset: VIRTIO_PCI_COMMON_CFG.num_queues.offset + 1, size: 1 },
  { offset: 0x40, size: 4 },
];

/** Runs one access; a target that refuses it (a qtest FAIL) fails the statement. */
async function answered(
  judgement: Judgement,
  what: string,
  access: () => Promise<unknown>,
): Promise<void> {
  try {
    await access();
  } catch (error) {
    if (!(error instanceof QtestReplyError)) throw error;
    judgement.fail('dev.pci.pci-rules', {
      expected: `${what} completes, as every memory access to a BAR the function decodes`,
      message: `the target refused it: ${error.message}`,
    });
  }
}

tests.it(
  '[dev.pci.pci-rules] common-configuration reads where no field starts, and queue registers written while queue_select names no virtqueue, are answered, and requests still work after them',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const edu = needEdu(session);
    await startDevice(session);
    const { common } = session.driver.transport;
    for (const { offset, size } of STRAY_READS) {
      const read =
        size === 1
          ? common.read8(offset)
          : size === 2
            ? common.read16(offset)
            : common.read32(offset);
      await answered(
        judgement,
        `a ${size}-byte read at common configuration offset ${hex(offset)}`,
        () => read,
      );
    }
    const queues = await common.read16(VIRTIO_PCI_COMMON_CFG.num_queues.offset);
    await common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, queues);
    const writes: readonly [string, () => Promise<void>][] = [
      ['queue_size', () => common.write16(VIRTIO_PCI_COMMON_CFG.queue_size.offset, 4)],
      ['queue_desc', () => common.write32(VIRTIO_PCI_COMMON_CFG.queue_desc.offset, 0x1000)],
      ['queue_driver', () => common.write32(VIRTIO_PCI_COMMON_CFG.queue_driver.offset, 0x2000)],
      ['queue_device', () => common.write32(VIRTIO_PCI_COMMON_CFG.queue_device.offset, 0x3000)],
    ];
    for (const [field, write] of writes)
      await answered(
        judgement,
        `a write of ${field} with queue_select ${queues} (num_queues is ${queues})`,
        write,
      );
    await common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, 0);
    // The request queue the driver set up before is untouched: an ATTACH still gets S_OK.
    await attachEndpoint(session, edu.endpointId);
  },
);
