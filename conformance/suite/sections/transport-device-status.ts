// Device requirements: Device status (spec-src/09-transport.md): FEATURES_OK refused for
// features that were not offered (a device-type bit, and bits past 63 that no device offers), and DEVICE_NEEDS_RESET announced by a device configuration
// change notification (without MSI-X: ISR bit 1, read by polling like the queue bit).

import { VIRTIO_PCI_COMMON_CFG } from '../../../dist/ts/index.js';
import {
  VIRTIO_STATUS_ACKNOWLEDGE,
  VIRTIO_STATUS_DEVICE_NEEDS_RESET,
  VIRTIO_STATUS_DRIVER,
  VIRTIO_STATUS_FEATURES_OK,
  VIRTIO_F_VERSION_1,
  featureBit,
} from '../../virtio/constants.js';
import { SectionTests, Untested } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import { hex, startOwnQueue, within } from '../transport-steps.js';

export const section = 'device-requirements-device-status';
export const tests = new SectionTests();

/** ISR status bit 1: a device configuration change. */
const ISR_CONFIG = 0x2;
/** How long a device may take to act on a notification or a status write. */
const STATUS_WAIT_MS = 500;

tests.it(
  '[dev.pci.features-ok-unoffered] FEATURES_OK written after the driver accepted a feature bit that was not offered stays clear',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { transport, offered } = session.driver;
    // The lowest device-type bit (0 to 23) the device does not offer.
    const unoffered = Array.from({ length: 24 }, (_, bit) => bit).find(
      (bit) => (offered & featureBit(bit)) === 0n,
    );
    if (unoffered === undefined)
      throw new Untested('the device offers every device-type feature bit: none to accept wrongly');
    await transport.reset();
    await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE);
    await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    const written = (offered & featureBit(VIRTIO_F_VERSION_1)) | featureBit(unoffered);
    await transport.writeDriverFeatures(written);
    await transport.addStatus(VIRTIO_STATUS_FEATURES_OK);
    const status = await transport.readStatus();
    if ((status & VIRTIO_STATUS_FEATURES_OK) !== 0)
      judgement.fail('dev.pci.features-ok-unoffered', {
        expected: `FEATURES_OK clear: the driver accepted bit ${unoffered}, which the device does not offer (offered ${hex(offered)})`,
        message: `device_status reads ${hex(status)} after the driver wrote features ${hex(written)} and set FEATURES_OK`,
      });
    await transport.reset();
  },
);

/** Feature windows past bit 63: the next one and the last a 32-bit select can choose. */
const WINDOWS_PAST_63 = [2, 0xffff_ffff];

tests.it(
  '[dev.pci.features-ok-unoffered] FEATURES_OK written after the driver accepted a bit past 63 (select 2 and select 0xffffffff), which no device offers, stays clear',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { transport, offered } = session.driver;
    const { driver_feature_select, driver_feature } = VIRTIO_PCI_COMMON_CFG;
    for (const select of WINDOWS_PAST_63) {
      await transport.reset();
      await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE);
      await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
      await transport.writeDriverFeatures(offered & featureBit(VIRTIO_F_VERSION_1));
      await transport.common.write32(driver_feature_select.offset, select);
      await transport.common.write32(driver_feature.offset, 1);
      await transport.addStatus(VIRTIO_STATUS_FEATURES_OK);
      const status = await transport.readStatus();
      if ((status & VIRTIO_STATUS_FEATURES_OK) !== 0)
        judgement.fail('dev.pci.features-ok-unoffered', {
          expected: `FEATURES_OK clear: the driver accepted bit ${32 * select} (driver_feature 0x1 with driver_feature_select ${hex(select)}), which no device offers`,
          message: `device_status reads ${hex(status)} after FEATURES_OK was set`,
        });
    }
    await transport.reset();
  },
);

tests.it(
  '[dev.pci.needs-reset-notify] DEVICE_NEEDS_RESET set after DRIVER_OK (the driver made more buffers available than the queue holds) comes with ISR bit 1',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { transport, queue } = await startOwnQueue(session);
    await transport.readIsr();
    // avail idx moves by size + 1 in one step: more buffers than the queue has entries.
    const { driver, size } = queue.addresses;
    await session.qtest.writew(driver + 2n, size + 1);
    await transport.notify(queue.index);
    const status = await within(
      session,
      STATUS_WAIT_MS,
      'DEVICE_NEEDS_RESET in device_status',
      async () => {
        const now = await transport.readStatus();
        return (now & VIRTIO_STATUS_DEVICE_NEEDS_RESET) !== 0 ? now : undefined;
      },
    );
    if (status === undefined)
      throw new Untested(
        `the device did not set DEVICE_NEEDS_RESET within ${STATUS_WAIT_MS} ms of available idx ${size + 1} in a queue of ${size} entries: nothing to judge`,
      );
    const isr = await transport.readIsr();
    if ((isr & ISR_CONFIG) === 0)
      judgement.fail('dev.pci.needs-reset-notify', {
        expected:
          'ISR status bit 1 (a device configuration change) set with DEVICE_NEEDS_RESET, as DRIVER_OK was set',
        message: `device_status reads ${hex(status)}, but the ISR status reads ${hex(isr)}`,
      });
    await transport.reset();
  },
);
