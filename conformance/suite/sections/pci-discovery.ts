// Device requirements: PCI device discovery (spec-src/09-transport.md): the IDs a driver
// matches, and the PCI rules a driver relies on (BARs, interrupt line, memory decoding, bus
// mastering).

import {
  DEVICE_ID,
  SIZEOF_VIRTIO_IOMMU_FAULT,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_PCI_COMMON_CFG,
  VIRTQUEUE,
} from '../../../dist/ts/index.js';
import { PCI_BAR0, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../pci/config.js';
import {
  VIRTIO_PCI_MODERN_DEVICE_ID_BASE,
  VIRTIO_PCI_VENDOR_ID,
  VIRTIO_STATUS_ACKNOWLEDGE,
  featureBit,
} from '../../virtio/constants.js';
import { encodeRequest } from '../../driver/requests.js';
import { QtestReplyError } from '../../qtest/errors.js';
import type { Session } from '../../session.js';
import {
  attachEndpoint,
  domainId,
  iovaAt,
  needEdu,
  needFeature,
  startDevice,
} from '../device-steps.js';
import { checkPciPlatform } from '../platform-checks.js';
import { SectionTests } from '../harness.js';
import {
  QUIET_WAIT_MS,
  VIRTIO_F_EVENT_IDX,
  hex,
  iommuConfig,
  readCommand,
  startOwnQueue,
  within,
  writeCommand,
} from '../transport-steps.js';

export const section = 'device-requirements-pci-device-discovery';
export const tests = new SectionTests();

const PCI_SUBSYSTEM_ID = 0x2e;
const PCI_INTERRUPT_LINE = 0x3c;
const PCI_COMMAND_IO = 0x1;

tests.it(
  '[dev.pci.vendor-id] [dev.pci.device-id] [dev.pci.revision-id] [dev.pci.subsystem-id] the IDs in the configuration header',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { config, address } = iommuConfig(session);
    const info = session.driver.transport.device.info;
    const [ids, revisionClass, subsystem] = await Promise.all([
      config.read32(address, 0),
      config.read32(address, 0x08),
      config.read16(address, PCI_SUBSYSTEM_ID),
    ]);
    const vendor = ids & 0xffff;
    const device = ids >>> 16;
    if (vendor !== VIRTIO_PCI_VENDOR_ID)
      judgement.fail('dev.pci.vendor-id', {
        expected: `vendor ID ${hex(VIRTIO_PCI_VENDOR_ID)}`,
        message: `the function the suite drives as virtio-iommu (${hex(info.vendorId)}:${hex(info.deviceId)}) now reads vendor ID ${hex(vendor)}`,
      });
    const wanted = VIRTIO_PCI_MODERN_DEVICE_ID_BASE + DEVICE_ID;
    if (device !== wanted)
      judgement.fail('dev.pci.device-id', {
        expected: `device ID ${hex(wanted)}`,
        message: `device ID ${hex(device)}`,
      });
    // The device ID is 0x1040 + 23: not transitional, so the two SHOULDs apply.
    const revision = revisionClass & 0xff;
    if (revision < 1)
      judgement.fail('dev.pci.revision-id', {
        expected: 'a revision ID of 1 or more',
        message: `revision ID ${revision}`,
      });
    if (subsystem < 0x40)
      judgement.fail('dev.pci.subsystem-id', {
        expected: 'a subsystem device ID of 0x40 or more',
        message: `subsystem device ID ${hex(subsystem)}`,
      });
  },
);

tests.it(
  '[dev.pci.pci-rules] every memory BAR can be sized (its address bits take all-ones down to its size) and the interrupt line register holds what the driver writes',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { config, address } = iommuConfig(session);
    const command = await readCommand(session);
    await writeCommand(session, command & ~(PCI_COMMAND_MEMORY | PCI_COMMAND_IO));
    const problems: string[] = [];
    for (const bar of session.driver.transport.device.bars) {
      if (bar.kind === 'io') continue;
      const offset = PCI_BAR0 + 4 * bar.index;
      const low = await config.read32(address, offset);
      await config.write32(address, offset, 0xffff_ffff);
      const lowMask = await config.read32(address, offset);
      await config.write32(address, offset, low);
      // The address bits of a BAR: ones from bit 31 down to log2(size), zeros below.
      const addressBits = (lowMask & 0xffff_fff0) >>> 0;
      const lowest = addressBits & -addressBits;
      const contiguous = addressBits !== 0 && ((addressBits + lowest) & 0xffff_ffff) >>> 0 === 0;
      if (!contiguous || (lowMask & 0xf) !== (low & 0xf))
        problems.push(
          `BAR${bar.index} reads ${hex(lowMask >>> 0)} after all-ones was written (it held ${hex(low >>> 0)}): not a size mask`,
        );
      if (bar.kind === 'memory64' && bar.size <= 0x1_0000_0000n) {
        const high = await config.read32(address, offset + 4);
        await config.write32(address, offset + 4, 0xffff_ffff);
        const highMask = await config.read32(address, offset + 4);
        await config.write32(address, offset + 4, high);
        if (highMask >>> 0 !== 0xffff_ffff)
          problems.push(
            `the upper half of 64-bit BAR${bar.index} (${bar.size} bytes) reads ${hex(highMask >>> 0)} after all-ones was written: the driver cannot place it above 4 GiB`,
          );
      }
    }
    await writeCommand(session, command);
    const line = await config.read8(address, PCI_INTERRUPT_LINE);
    for (const value of [0x0b, 0xa5]) {
      await config.write8(address, PCI_INTERRUPT_LINE, value);
      const got = await config.read8(address, PCI_INTERRUPT_LINE);
      if (got !== value)
        problems.push(
          `the interrupt line register reads ${hex(got)} after ${hex(value)} was written`,
        );
    }
    await config.write8(address, PCI_INTERRUPT_LINE, line);
    if (problems.length > 0)
      judgement.fail('dev.pci.pci-rules', {
        expected: 'sizable memory BARs and a read-write interrupt line register',
        message: problems.join('; '),
      });
  },
);

tests.it(
  '[dev.pci.pci-rules] with memory space decoding off (I/O decoding on), a write to device_status through the BAR does not reach the device',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const transport = session.driver.transport;
    await transport.reset();
    const command = await readCommand(session);
    await writeCommand(session, (command & ~PCI_COMMAND_MEMORY) | PCI_COMMAND_IO);
    // Nothing decodes the address now: the target may drop the write or refuse it.
    await session.qtest
      .writeb(
        transport.common.address(VIRTIO_PCI_COMMON_CFG.device_status.offset),
        VIRTIO_STATUS_ACKNOWLEDGE,
      )
      .catch((error: unknown) => {
        if (!(error instanceof QtestReplyError)) throw error;
      });
    await writeCommand(session, command);
    const status = await transport.readStatus();
    if (status !== 0)
      judgement.fail('dev.pci.pci-rules', {
        expected:
          'device_status still 0: a function does not decode memory with COMMAND bit 1 clear',
        message: `device_status reads ${hex(status)} after ${hex(VIRTIO_STATUS_ACKNOWLEDGE)} was written to it with COMMAND ${hex((command & ~PCI_COMMAND_MEMORY) | PCI_COMMAND_IO)}`,
      });
  },
);

tests.it(
  '[dev.pci.pci-rules] with bus mastering off, a notified request is neither read nor answered',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { queue } = await startOwnQueue(session);
    const command = await readCommand(session);
    await writeCommand(session, command & ~PCI_COMMAND_MASTER);
    const { readable, writableLength } = encodeRequest('detach', { domain: 1n, endpoint: 0n });
    const head = await queue.post({
      segments: [
        { writable: false, bytes: readable },
        { writable: true, length: writableLength },
      ],
    });
    await queue.notify();
    // The used idx once it moved, or 0 when it stayed put for QUIET_WAIT_MS.
    const usedIdx =
      (await within(session, QUIET_WAIT_MS, 'the used idx to move', async () => {
        const idx = await session.qtest.readw(queue.addresses.device + 2n);
        return idx !== 0 ? idx : undefined;
      })) ?? 0;
    const used = await queue.collectUsed().catch(() => []);
    if (usedIdx !== 0 || used.length > 0)
      judgement.fail('dev.pci.pci-rules', {
        expected: 'no memory access by a function whose COMMAND bit 2 (bus master) is clear',
        message: `with COMMAND ${hex(command & ~PCI_COMMAND_MASTER)}, the device moved the used ring's idx to ${usedIdx} for the request at head ${head}`,
      });
  },
);

/** What the test leaves in the event queue's avail_event: a value the device would not write. */
const AVAIL_EVENT_SENTINEL = 0xabcd;

/** The event queue's device area (used ring) and size, as the common configuration holds them. */
async function eventQueueUsedRing(session: Session): Promise<{ device: bigint; size: number }> {
  const { common } = session.driver.transport;
  const at = VIRTIO_PCI_COMMON_CFG.queue_device.offset;
  const [, low, high, size] = await Promise.all([
    common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, VIRTQUEUE.eventq),
    common.read32(at),
    common.read32(at + 4),
    common.read16(VIRTIO_PCI_COMMON_CFG.queue_size.offset),
  ]);
  return { device: (BigInt(high) << 32n) | BigInt(low), size };
}

tests.it(
  '[dev.pci.pci-rules] with bus mastering off, a DMA fault of an endpoint leaves the event queue untouched: avail_event and the used idx stay as they were',
  async (session, judgement) => {
    await checkPciPlatform(session);
    // With VIRTIO_F_EVENT_IDX a device that takes an event buffer writes avail_event, even
    // where it then drops the report (which the spec lets it do): that write is what shows.
    needFeature(session, VIRTIO_F_EVENT_IDX, 'VIRTIO_F_EVENT_IDX');
    needFeature(session, VIRTIO_IOMMU_F_MAP_UNMAP, 'F_MAP_UNMAP');
    const edu = needEdu(session);
    const config = await startDevice(
      session,
      { accept: featureBit(VIRTIO_F_EVENT_IDX) },
      { count: 1, size: SIZEOF_VIRTIO_IOMMU_FAULT },
    );
    // @ep in a domain with nothing mapped: its transfer to the IOVA faults.
    await attachEndpoint(session, edu.endpointId, await domainId(session));
    const iova = iovaAt(session, config, 0x1000n);
    const { device, size } = await eventQueueUsedRing(session);
    const usedIdxAt = device + 2n;
    const availEventAt = device + 4n + 8n * BigInt(size);
    await session.qtest.writew(availEventAt, AVAIL_EVENT_SENTINEL);
    const usedIdx = await session.qtest.readw(usedIdxAt);
    const command = await readCommand(session);
    await writeCommand(session, command & ~PCI_COMMAND_MASTER);
    await edu.fromDevice(iova, 4);
    const changed = await within(
      session,
      QUIET_WAIT_MS,
      "the event queue's used ring to change",
      async () => {
        const [idx, availEvent] = await Promise.all([
          session.qtest.readw(usedIdxAt),
          session.qtest.readw(availEventAt),
        ]);
        return idx !== usedIdx || availEvent !== AVAIL_EVENT_SENTINEL
          ? { idx, availEvent }
          : undefined;
      },
    );
    if (changed !== undefined)
      judgement.fail('dev.pci.pci-rules', {
        expected: `no memory access by a function whose COMMAND bit 2 (bus master) is clear: the event queue's avail_event still ${hex(AVAIL_EVENT_SENTINEL)}, its used idx still ${usedIdx}`,
        message: `with COMMAND ${hex(command & ~PCI_COMMAND_MASTER)}, a write of 4 bytes by @ep to the unmapped IOVA ${hex(iova)} left the event queue's avail_event at ${hex(changed.availEvent)} and its used idx at ${changed.idx}`,
      });
  },
);
