// Device definitions: PCI configuration access capability (spec-src/09-transport.md). The
// window is pci_cfg_data's four bytes and nothing around them. The test aims the window at
// the ISR status, whose read clears it, while an interrupt is pending: configuration reads of
// the capability's own fields and of the bytes after pci_cfg_data must leave it pending.

import { VIRTIO_PCI_CAP_PCI_CFG } from '../../virtio/constants.js';
import { SectionTests, Untested } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import {
  hex,
  interruptAsserted,
  iommuConfig,
  startOwnQueue,
  submitHarmless,
} from '../transport-steps.js';

export const section = 'device-definitions-pci-configuration-access-capability';
export const tests = new SectionTests();

const CAP_BAR = 4;
const CAP_OFFSET = 8;
const CAP_LENGTH = 12;
const PCI_CFG_DATA = 16;
/** The end of the configuration space every PCI function has. */
const CONFIG_SPACE_SIZE = 0x100;

tests.it(
  '[dev.pci.cfg-cap-window] configuration reads next to pci_cfg_data (the capability fields before it, the bytes after it) perform no BAR read: the ISR status the window points at stays pending',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const cap = session.driver.transport.caps.find((c) => c.cfgType === VIRTIO_PCI_CAP_PCI_CFG);
    if (cap === undefined)
      throw new Untested('the device has no VIRTIO_PCI_CAP_PCI_CFG capability');
    const { queue, transport } = await startOwnQueue(session);
    await submitHarmless(session, queue);
    if (!(await interruptAsserted(session)))
      throw new Untested(
        'no interrupt is pending after a used buffer notification, so no ISR read can be seen',
      );
    const { config, address } = iommuConfig(session);
    const isr = transport.layout.isr;
    await config.write8(address, cap.capOffset + CAP_BAR, isr.bar);
    await config.write32(address, cap.capOffset + CAP_LENGTH, 1);
    await config.write32(address, cap.capOffset + CAP_OFFSET, isr.offset);
    const data = cap.capOffset + PCI_CFG_DATA;
    const reads: Array<[number, 1 | 2 | 4]> = [
      [cap.capOffset, 4],
      [cap.capOffset + CAP_OFFSET, 4],
      [cap.capOffset + CAP_LENGTH, 4],
      [data - 1, 1],
      [data - 2, 2],
      [data + 4, 1],
      [data + 4, 2],
      [data + 4, 4],
      [data + 5, 1],
    ];
    for (const [offset, size] of reads) {
      if (offset + size > CONFIG_SPACE_SIZE) continue;
      if (size === 1) await config.read8(address, offset);
      else if (size === 2) await config.read16(address, offset);
      else await config.read32(address, offset);
      if (!(await interruptAsserted(session))) {
        judgement.fail('dev.pci.cfg-cap-window', {
          expected: `no BAR access: the window is pci_cfg_data at ${hex(data)}..${hex(data + 3)}`,
          message: `a ${size}-byte configuration read at ${hex(offset)}, with the window aimed at the ISR status (BAR ${isr.bar} offset ${hex(isr.offset)}), cleared the pending interrupt: it read the ISR status`,
        });
        return;
      }
    }
  },
);
