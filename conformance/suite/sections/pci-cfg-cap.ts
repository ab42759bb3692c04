// Device requirements: PCI configuration access capability, and the length of every virtio
// capability (spec-src/09-transport.md). The window is checked against the same registers
// read and written through the BAR.

import { VIRTIO_PCI_COMMON_CFG } from '../../../dist/ts/index.js';
import {
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_PCI_CFG,
  VIRTIO_STATUS_ACKNOWLEDGE,
} from '../../virtio/constants.js';
import type { MmioRegion } from '../../pci/mmio.js';
import type { VirtioPciCap } from '../../virtio/pci-caps.js';
import { SectionTests, Untested } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import { hex, iommuConfig } from '../transport-steps.js';
import type { Session } from '../../session.js';

export const section = 'device-requirements-pci-configuration-access-capability';
export const tests = new SectionTests();

/** struct virtio_pci_cap is 16 bytes; the notify and PCI_CFG capabilities carry 4 more. */
const GENERIC_CAP_LENGTH = 16;
const EXTENDED_CAP_LENGTH = 20;
const CAP_BAR = 4;
const CAP_OFFSET = 8;
const CAP_LENGTH = 12;
const PCI_CFG_DATA = 16;

function pciCfgCap(session: Session): VirtioPciCap {
  const cap = session.driver.transport.caps.find((c) => c.cfgType === VIRTIO_PCI_CAP_PCI_CFG);
  if (cap === undefined) throw new Untested('the device has no VIRTIO_PCI_CAP_PCI_CFG capability');
  return cap;
}

/**
 * On a sound platform, the device's PCI_CFG capability (untested without one) and its common
 * configuration as the BAR shows it, after a device reset.
 */
async function windowAndBar(session: Session): Promise<{ cap: VirtioPciCap; common: MmioRegion }> {
  await checkPciPlatform(session);
  const cap = pciCfgCap(session);
  await session.driver.transport.reset();
  return { cap, common: session.driver.transport.common };
}

/** Points the window at `length` bytes at `offset` into the common configuration's BAR. */
async function aim(session: Session, cap: VirtioPciCap, field: number, length: number) {
  const { config, address } = iommuConfig(session);
  const common = session.driver.transport.layout.common;
  await config.write8(address, cap.capOffset + CAP_BAR, common.bar);
  await config.write32(address, cap.capOffset + CAP_LENGTH, length);
  await config.write32(address, cap.capOffset + CAP_OFFSET, common.offset + field);
}

async function windowRead(session: Session, cap: VirtioPciCap, field: number, length: number) {
  await aim(session, cap, field, length);
  const { config, address } = iommuConfig(session);
  const data = await config.read32(address, cap.capOffset + PCI_CFG_DATA);
  return length === 4 ? data >>> 0 : data & ((1 << (8 * length)) - 1);
}

async function windowWrite(
  session: Session,
  cap: VirtioPciCap,
  field: number,
  length: number,
  value: number,
) {
  await aim(session, cap, field, length);
  const { config, address } = iommuConfig(session);
  await config.write32(address, cap.capOffset + PCI_CFG_DATA, value);
}

tests.it(
  '[dev.pci.cfg-cap] [dev.pci.cap-length] the device has a VIRTIO_PCI_CAP_PCI_CFG capability, and every virtio capability counts its extra fields in cap_len',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const caps = session.driver.transport.caps;
    if (!caps.some((c) => c.cfgType === VIRTIO_PCI_CAP_PCI_CFG))
      judgement.fail('dev.pci.cfg-cap', {
        expected: 'a vendor capability with cfg_type VIRTIO_PCI_CAP_PCI_CFG (5)',
        message: `cfg_types found: ${caps.map((c) => c.cfgType).join(', ')}`,
      });
    for (const cap of caps) {
      const least =
        cap.cfgType === VIRTIO_PCI_CAP_NOTIFY_CFG || cap.cfgType === VIRTIO_PCI_CAP_PCI_CFG
          ? EXTENDED_CAP_LENGTH
          : GENERIC_CAP_LENGTH;
      if (cap.capLen < least)
        judgement.fail('dev.pci.cap-length', {
          expected: `cap_len of at least ${least} for cfg_type ${cap.cfgType}`,
          message: `the capability at ${hex(cap.capOffset)} (cfg_type ${cap.cfgType}) has cap_len ${cap.capLen}`,
        });
    }
  },
);

tests.it(
  '[dev.pci.cfg-cap-read] reads through pci_cfg_data of 1, 2 and 4 bytes give what the BAR gives',
  async (session, judgement) => {
    const { cap, common } = await windowAndBar(session);
    await session.driver.transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE);
    await common.write32(VIRTIO_PCI_COMMON_CFG.device_feature_select.offset, 1);
    const checks: Array<[string, number, 1 | 2 | 4, number]> = [
      [
        'device_status',
        VIRTIO_PCI_COMMON_CFG.device_status.offset,
        1,
        await common.read8(VIRTIO_PCI_COMMON_CFG.device_status.offset),
      ],
      [
        'num_queues',
        VIRTIO_PCI_COMMON_CFG.num_queues.offset,
        2,
        await common.read16(VIRTIO_PCI_COMMON_CFG.num_queues.offset),
      ],
      [
        'device_feature (select 1)',
        VIRTIO_PCI_COMMON_CFG.device_feature.offset,
        4,
        (await common.read32(VIRTIO_PCI_COMMON_CFG.device_feature.offset)) >>> 0,
      ],
    ];
    for (const [name, field, length, expected] of checks) {
      const got = await windowRead(session, cap, field, length);
      if (got !== expected)
        judgement.fail('dev.pci.cfg-cap-read', {
          expected: `${name} ${hex(expected)}, as the BAR reads it`,
          message: `a ${length}-byte read of ${name} through pci_cfg_data gave ${hex(got)}`,
        });
    }
  },
);

tests.it(
  '[dev.pci.cfg-cap-write] writes through pci_cfg_data of 1, 2 and 4 bytes reach the registers the BAR shows',
  async (session, judgement) => {
    const { cap, common } = await windowAndBar(session);
    const writes: Array<[string, number, 1 | 2 | 4, number, () => Promise<number>]> = [
      [
        'device_status',
        VIRTIO_PCI_COMMON_CFG.device_status.offset,
        1,
        VIRTIO_STATUS_ACKNOWLEDGE,
        () => common.read8(VIRTIO_PCI_COMMON_CFG.device_status.offset),
      ],
      [
        'queue_select',
        VIRTIO_PCI_COMMON_CFG.queue_select.offset,
        2,
        0x0101,
        () => common.read16(VIRTIO_PCI_COMMON_CFG.queue_select.offset),
      ],
      [
        'driver_feature_select',
        VIRTIO_PCI_COMMON_CFG.driver_feature_select.offset,
        4,
        0x0102_0304,
        async () => (await common.read32(VIRTIO_PCI_COMMON_CFG.driver_feature_select.offset)) >>> 0,
      ],
    ];
    for (const [name, field, length, value, readBack] of writes) {
      await windowWrite(session, cap, field, length, value);
      const got = await readBack();
      if (got !== value)
        judgement.fail('dev.pci.cfg-cap-write', {
          expected: `${name} ${hex(value)}, written through pci_cfg_data`,
          message: `after a ${length}-byte write of ${hex(value)} through pci_cfg_data, the BAR reads ${name} ${hex(got)}`,
        });
    }
  },
);
