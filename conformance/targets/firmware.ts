// The firmware we give QEMU instead of SeaBIOS (see QEMU-NOTES.md, "Starting it"): 64 KiB
// mapped just below 4 GiB, all zero but for the reset vector at offset 0xFFF0, which holds
// `cli; hlt`. The CPU halts on its first instruction with interrupts off, so nothing in the
// guest touches PCI, RAM or the IOMMU behind the suite's back.

export const HALT_FIRMWARE_SIZE = 0x10000;
export const RESET_VECTOR_OFFSET = 0xfff0;

const CLI = 0xfa;
const HLT = 0xf4;

export function buildHaltFirmware(): Uint8Array {
  const image = new Uint8Array(HALT_FIRMWARE_SIZE);
  image[RESET_VECTOR_OFFSET] = CLI;
  image[RESET_VECTOR_OFFSET + 1] = HLT;
  return image;
}
