// Layer: platform.
// The contract between a bus-mastering endpoint and the IOMMU its DMA goes through: the
// endpoint asks for the translation of the next bytes of a transfer, the IOMMU answers with
// where they land in guest RAM or refuses them (and reports the fault its own way).

export type DmaAccess = 'read' | 'write';

/** The outcome of translating the first bytes of a DMA access. */
export type Translation =
  /** `iova` is at guest-physical `pa`; `length` bytes (1 up to the requested length) map contiguously. */
  | { readonly ok: true; readonly pa: bigint; readonly length: number }
  /** The access faults; the IOMMU reports the fault (e.g. on its event queue) itself. */
  | { readonly ok: false };

/**
 * The DMA translation every bus-mastering endpoint of the board goes through. The board
 * calls translate() for the first part of a transfer and again for the rest until the
 * transfer is done; on a fault it abandons the rest of the transfer (reads deliver zeros,
 * writes are dropped), as QEMU does with a faulting IOMMU.
 */
export interface Iommu {
  /** `endpoint` is the PCI requester ID of the device doing DMA: bus << 8 | dev << 3 | fn. */
  translate(endpoint: number, iova: bigint, length: number, access: DmaAccess): Translation;
}
