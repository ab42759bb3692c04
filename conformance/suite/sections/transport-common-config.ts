// Device requirements and definitions: Capabilities and the common configuration
// (spec-src/09-transport.md): feature windows, reset, and the queue registers.

import { VIRTIO_PCI_COMMON_CFG } from '../../../dist/ts/index.js';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_ACKNOWLEDGE,
  VIRTIO_STATUS_DRIVER,
  VIRTIO_STATUS_DRIVER_OK,
  VIRTIO_STATUS_FEATURES_OK,
  featureBit,
} from '../../virtio/constants.js';
import { pollUntil, PollTimeoutError } from '../../qtest/poll.js';
import { SectionTests, Untested } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import { hex, startOwnQueue, submitHarmless } from '../transport-steps.js';
import type { Session } from '../../session.js';

export const section = 'device-requirements-capabilities-and-the-common-configuration';
export const tests = new SectionTests();

const RESET_TIMEOUT_MS = 1000;

/** Every queue's queue_size and queue_enable, and queue_size past the last queue. */
async function queueRegisters(
  session: Session,
): Promise<{ sizes: number[]; enables: number[]; beyond: number }> {
  const { common } = session.driver.transport;
  const count = await common.read16(VIRTIO_PCI_COMMON_CFG.num_queues.offset);
  const sizes: number[] = [];
  const enables: number[] = [];
  for (let index = 0; index < count; index++) {
    await common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, index);
    sizes.push(await common.read16(VIRTIO_PCI_COMMON_CFG.queue_size.offset));
    enables.push(await common.read16(VIRTIO_PCI_COMMON_CFG.queue_enable.offset));
  }
  await common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, count);
  const beyond = await common.read16(VIRTIO_PCI_COMMON_CFG.queue_size.offset);
  return { sizes, enables, beyond };
}

tests.it(
  '[dev.pci.device-feature] [dev.pci.driver-feature] [dev.pci.reset] [dev.pci.reset-status] the feature windows show the offered and the written bits, and a reset forgets what the driver wrote',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { transport } = session.driver;
    const { common } = transport;
    const offered = session.driver.offered;
    const word = (features: bigint, select: number): number =>
      Number((features >> BigInt(32 * select)) & 0xffff_ffffn);
    await transport.reset();
    await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE);
    await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    for (const select of [0, 1, 2]) {
      await common.write32(VIRTIO_PCI_COMMON_CFG.device_feature_select.offset, select);
      const shown = (await common.read32(VIRTIO_PCI_COMMON_CFG.device_feature.offset)) >>> 0;
      if (shown !== word(offered, select))
        judgement.fail('dev.pci.device-feature', {
          expected: `device_feature ${hex(word(offered, select))} for device_feature_select ${select} (offered ${hex(offered)})`,
          message: `device_feature reads ${hex(shown)} with device_feature_select ${select}`,
        });
    }
    // Accept everything offered: every bit written is valid and must read back.
    await transport.writeDriverFeatures(offered);
    for (const select of [0, 1]) {
      await common.write32(VIRTIO_PCI_COMMON_CFG.driver_feature_select.offset, select);
      const shown = (await common.read32(VIRTIO_PCI_COMMON_CFG.driver_feature.offset)) >>> 0;
      if (shown !== word(offered, select))
        judgement.fail('dev.pci.driver-feature', {
          expected: `driver_feature ${hex(word(offered, select))}, the word the driver wrote with driver_feature_select ${select}`,
          message: `driver_feature reads ${hex(shown)}`,
        });
    }
    await transport.addStatus(VIRTIO_STATUS_FEATURES_OK);
    await transport.addStatus(VIRTIO_STATUS_DRIVER_OK);
    await transport.writeStatus(0);
    let status = await transport.readStatus();
    try {
      status = await pollUntil(
        async () => ((status = await transport.readStatus()) === 0 ? 0 : undefined),
        { timeoutMs: RESET_TIMEOUT_MS, what: 'device_status to read 0 after reset' },
      );
    } catch (error) {
      if (!(error instanceof PollTimeoutError)) throw error;
      judgement.fail('dev.pci.reset-status', {
        expected: 'device_status 0 once the reset is done',
        message: `device_status still reads ${hex(status)} ${RESET_TIMEOUT_MS} ms after 0 was written to it`,
      });
      return;
    }
    for (const select of [0, 1]) {
      await common.write32(VIRTIO_PCI_COMMON_CFG.driver_feature_select.offset, select);
      const shown = (await common.read32(VIRTIO_PCI_COMMON_CFG.driver_feature.offset)) >>> 0;
      if (shown !== 0)
        judgement.fail('dev.pci.reset', {
          expected: 'driver_feature 0 after the reset: the driver has written no feature since',
          message: `after the reset, driver_feature reads ${hex(shown)} with driver_feature_select ${select} (the driver wrote ${hex(word(offered, select))} before it)`,
        });
    }
  },
);

tests.it(
  '[dev.pci.queue-size-power] [dev.pci.queue-size-unavailable] [dev.pci.queue-enable-reset] queue_size is 0 or a power of 2, 0 past the last queue, and every queue is disabled at power-on and after a reset',
  async (session, judgement) => {
    await checkPciPlatform(session);
    // Read by the driver before its first reset: powering up a PCI function resets it.
    session.driver.powerOnQueueEnables.forEach((enable, index) => {
      if (enable !== 0)
        judgement.fail('dev.pci.queue-enable-reset', {
          expected: 'queue_enable 0 at power-on, a reset of the PCI function',
          message: `queue ${index}: queue_enable reads ${enable} on the device as it came up, before the driver's first reset`,
        });
    });
    await session.driver.start();
    await session.driver.transport.reset();
    const { sizes, enables, beyond } = await queueRegisters(session);
    sizes.forEach((size, index) => {
      if ((size & (size - 1)) !== 0)
        judgement.fail('dev.pci.queue-size-power', {
          expected: 'queue_size 0 or a power of 2',
          message: `queue ${index}: queue_size ${size}`,
        });
    });
    if (beyond !== 0)
      judgement.fail('dev.pci.queue-size-unavailable', {
        expected: `queue_size 0 for queue_select ${sizes.length}, past the last of num_queues ${sizes.length}`,
        message: `queue_size reads ${beyond}`,
      });
    enables.forEach((enable, index) => {
      if (enable !== 0)
        judgement.fail('dev.pci.queue-enable-reset', {
          expected: 'queue_enable 0 after the reset',
          message: `queue ${index} was enabled before the reset; queue_enable reads ${enable} after it`,
        });
    });
  },
);

tests.it(
  '[dev.pci.queue-size] a request queue of 4 entries (smaller than the maximum) works past its wrap, queue_size shows the maximum again after a reset, and takes the maximum when the driver writes it after 4',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const transport = session.driver.transport;
    await transport.reset();
    const [maximum] = (await queueRegisters(session)).sizes;
    const size = 4;
    if (maximum === undefined || maximum <= size)
      throw new Untested(
        `the request queue's maximum size is ${maximum ?? 'not shown'}: no smaller size to try`,
      );
    const { queue } = await startOwnQueue(session, { size });
    await transport.common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, queue.index);
    const shown = await transport.common.read16(VIRTIO_PCI_COMMON_CFG.queue_size.offset);
    if (shown !== size)
      judgement.fail('dev.pci.queue-size', {
        expected: `queue_size ${size}, the size the driver wrote`,
        message: `queue_size reads ${shown} (the maximum is ${maximum})`,
      });
    // Six requests one after another: the available ring wraps after four.
    for (let n = 0; n < 6; n++) {
      try {
        await submitHarmless(session, queue);
      } catch (error) {
        if (!(error instanceof PollTimeoutError)) throw error;
        judgement.fail('dev.pci.queue-size', {
          expected: `request ${n + 1} answered: with ${size} entries, it sits at available ring entry ${n % size}`,
          message: `request ${n + 1} of 6 on a ${size}-entry queue was not returned (${error.message})`,
        });
        return;
      }
    }
    await transport.reset();
    const [again] = (await queueRegisters(session)).sizes;
    if (again !== maximum)
      judgement.fail('dev.pci.queue-size', {
        expected: `queue_size ${maximum}, the maximum, after a reset`,
        message: `after the reset queue_size reads ${again}`,
      });
    // A driver that changes its mind before enabling the queue: 4, then the maximum.
    const { common } = transport;
    await common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, queue.index);
    await common.write16(VIRTIO_PCI_COMMON_CFG.queue_size.offset, size);
    await common.write16(VIRTIO_PCI_COMMON_CFG.queue_size.offset, maximum);
    const back = await common.read16(VIRTIO_PCI_COMMON_CFG.queue_size.offset);
    if (back !== maximum)
      judgement.fail('dev.pci.queue-size', {
        expected: `queue_size ${maximum}: the driver wrote ${size}, then the maximum ${maximum}`,
        message: `queue_size reads ${back}`,
      });
  },
);

tests.it(
  '[dev.pci.64bit-halves] the low and high halves of queue_desc, queue_driver and queue_device are written and read each on its own',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const transport = session.driver.transport;
    const { common } = transport;
    await transport.reset();
    await common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, 0);
    const fields = [
      ['queue_desc', VIRTIO_PCI_COMMON_CFG.queue_desc.offset],
      ['queue_driver', VIRTIO_PCI_COMMON_CFG.queue_driver.offset],
      ['queue_device', VIRTIO_PCI_COMMON_CFG.queue_device.offset],
    ] as const;
    for (const [name, low] of fields) {
      const high = low + 4;
      // Both halves, then each half alone: the other keeps its value.
      const steps: Array<[string, number, number, number, number]> = [
        ['both halves', low, 0x1000_0000, 0x1000_0000, 0x1],
        ['the high half alone', high, 0x2, 0x1000_0000, 0x2],
        ['the low half alone', low, 0x2000_0000, 0x2000_0000, 0x2],
      ];
      for (const [what, offset, value, wantLow, wantHigh] of steps) {
        if (what === 'both halves') {
          await common.write32(low, value);
          await common.write32(high, wantHigh);
        } else await common.write32(offset, value);
        const [gotLow, gotHigh] = [
          (await common.read32(low)) >>> 0,
          (await common.read32(high)) >>> 0,
        ];
        if (gotLow !== wantLow || gotHigh !== wantHigh)
          judgement.fail('dev.pci.64bit-halves', {
            expected: `${name} low ${hex(wantLow)}, high ${hex(wantHigh)}`,
            message: `after a write of ${what}, ${name} reads low ${hex(gotLow)}, high ${hex(gotHigh)}`,
          });
      }
    }
    await transport.reset();
  },
);

/** A driver_feature_select past bit 63: no device offers a bit there. */
const WINDOW_PAST_63 = 2;

tests.it(
  '[dev.pci.reset] a reset forgets a feature bit the driver wrote past bit 63: FEATURES_OK, kept for VIRTIO_F_VERSION_1 alone after one reset, is kept for it again after a reset that follows such a write',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { transport } = session.driver;
    const { common } = transport;
    const version1 = featureBit(VIRTIO_F_VERSION_1);
    const acknowledge = async (): Promise<void> => {
      await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE);
      await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    };
    /** Accepts VIRTIO_F_VERSION_1 alone on a reset device; whether FEATURES_OK stays set. */
    const featuresOk = async (): Promise<boolean> => {
      await acknowledge();
      await transport.writeDriverFeatures(version1);
      await transport.addStatus(VIRTIO_STATUS_FEATURES_OK);
      return ((await transport.readStatus()) & VIRTIO_STATUS_FEATURES_OK) !== 0;
    };
    await transport.reset();
    if (!(await featuresOk()))
      throw new Untested('the device keeps FEATURES_OK clear for VIRTIO_F_VERSION_1 alone');
    await transport.reset();
    await acknowledge();
    await common.write32(VIRTIO_PCI_COMMON_CFG.driver_feature_select.offset, WINDOW_PAST_63);
    await common.write32(VIRTIO_PCI_COMMON_CFG.driver_feature.offset, 1);
    await transport.reset();
    if (!(await featuresOk()))
      judgement.fail('dev.pci.reset', {
        expected: `FEATURES_OK kept for ${hex(version1)} (VIRTIO_F_VERSION_1 alone), as after the reset before: the reset forgets what the driver wrote`,
        message: `FEATURES_OK is clear after the driver accepted ${hex(version1)}; the only difference from the first time is the bit ${32 * WINDOW_PAST_63} it wrote (driver_feature_select ${WINDOW_PAST_63}) before the reset`,
      });
  },
);
