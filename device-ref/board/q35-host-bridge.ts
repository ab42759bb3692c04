// Layer: board.
// The host bridge of QEMU's q35 machine (the MCH, 00:00.0) as QEMU 7.2 shows it after reset
// (measured over qtest): 8086:29c0, class 0x060000, subsystem 1af4:1100, and the chipset
// registers that are not zero, at their reset values. It is only there to be found: writes
// land in the configuration space as on any function, but nothing acts on them (no PAM,
// SMRAM or PCIEXBAR decoding, no MMCONFIG window).

import { PciFunction } from '../platform/pci/pci-function.js';

/** GGC: graphics control (QEMU's MCH_HOST_BRIDGE_GGC_DEFAULT). */
const MCH_GGC = 0x50;
/** PCIEXBAR: the MMCONFIG base, 0xb0000000, its enable bit clear. */
const MCH_PCIEXBAR = 0x60;
/** SMRAM and ESMRAMC: SMRAM control defaults. */
const MCH_SMRAM = 0x9d;
const MCH_ESMRAMC = 0x9e;

export class Q35HostBridge extends PciFunction {
  constructor() {
    super(0, 'q35 host bridge', {
      vendorId: 0x8086,
      deviceId: 0x29c0,
      revision: 0,
      classCode: 0x060000,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
      interruptPin: 0,
    });
    this.config.set(MCH_GGC, 2, 0x0010);
    this.config.set(MCH_PCIEXBAR, 4, 0xb0000000);
    this.config.set(MCH_SMRAM, 1, 0x02);
    this.config.set(MCH_ESMRAMC, 1, 0x38);
  }
}
