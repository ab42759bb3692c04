// Device requirements: PCI device discovery, `dev.pci.pci-rules` (spec-src/09-transport.md),
// for reads of the device-specific configuration structure that a careless driver makes: at
// every offset and in every width, inside `struct virtio_iommu_config`, across its end and past
// it, up to the end of the structure the VIRTIO_PCI_CAP_DEVICE_CFG capability describes.
// virtio-pci asks the driver for accesses of each field's own width; what a device answers to
// others, or past the fields, no rule fixes. But a memory read of a BAR the function decodes
// completes on PCI: the device answers every one of them, and still works after.

import { SIZEOF_VIRTIO_IOMMU_CONFIG } from '../../../dist/ts/index.js';
import { QtestReplyError } from '../../qtest/errors.js';
import { attachEndpoint, needEdu, startDevice } from '../device-steps.js';
import { SectionTests, Untested } from '../harness.js';
import { hex } from '../transport-steps.js';

export const section = 'device-requirements-pci-device-discovery';
export const tests = new SectionTests();

/** Bytes read past the end of struct virtio_iommu_config, where the structure has them. */
const PAST_END = 16;
const WIDTHS = [1, 2, 4] as const;

tests.it(
  '[dev.pci.pci-rules] reads of the device-specific configuration at every offset and in every width, up to and past the end of struct virtio_iommu_config and at the end of the structure, are answered, and requests still work after them',
  async (session, judgement) => {
    const edu = needEdu(session);
    await startDevice(session);
    const view = session.driver.transport.deviceConfig;
    if (view === undefined) throw new Untested('the device presents no device configuration');
    const { region } = view;
    // Every offset from 0 to PAST_END bytes beyond the configuration, and the structure's last bytes.
    const offsets = new Set<number>();
    for (let at = 0; at < SIZEOF_VIRTIO_IOMMU_CONFIG + PAST_END; at++) offsets.add(at);
    for (let at = region.size - 4; at < region.size; at++) offsets.add(at);
    const reads = [...offsets].flatMap((offset) =>
      WIDTHS.filter((width) => offset >= 0 && offset + width <= region.size).map((width) => ({
        offset,
        width,
      })),
    );
    const refused = (
      await Promise.all(
        reads.map(async ({ offset, width }) => {
          try {
            await (width === 1
              ? region.read8(offset)
              : width === 2
                ? region.read16(offset)
                : region.read32(offset));
            return undefined;
          } catch (error) {
            if (!(error instanceof QtestReplyError)) throw error;
            return `a ${width}-byte read at offset ${hex(offset)}: ${error.message}`;
          }
        }),
      )
    ).filter((text) => text !== undefined);
    if (refused.length > 0)
      judgement.fail('dev.pci.pci-rules', {
        expected: `every read of the ${hex(region.size)}-byte device-specific configuration structure completes, as every memory access to a BAR the function decodes`,
        message: `the target refused ${refused.length} of ${reads.length} reads: ${refused.slice(0, 3).join('; ')}${refused.length > 3 ? '; …' : ''}`,
      });
    // The device works as before: the configuration reads back whole and an ATTACH succeeds.
    await session.driver.readConfig();
    await attachEndpoint(session, edu.endpointId);
  },
);
