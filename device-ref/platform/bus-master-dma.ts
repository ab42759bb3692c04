// Layer: platform.
// DMA by a PCI endpoint: gated by the endpoint's COMMAND bus master bit, translated by the
// IOMMU using the endpoint's requester ID, landing in guest RAM. Like QEMU, a blocked or
// faulting transfer does not stop the endpoint: reads deliver zeros, writes are dropped.

import { hex } from '../hex.js';
import type { FindingLog } from './findings.js';
import type { GuestRam } from './guest-ram.js';
import type { PciFunction } from './pci/pci-function.js';
import type { DmaAccess, Iommu } from './dma-translation.js';

const U64_MASK = (1n << 64n) - 1n;

export interface DmaHost {
  readonly ram: GuestRam;
  readonly iommu: Iommu;
  readonly findings: FindingLog;
}

export class BusMasterDma {
  readonly #endpoint: PciFunction;
  readonly #host: DmaHost;

  constructor(endpoint: PciFunction, host: DmaHost) {
    this.#endpoint = endpoint;
    this.#host = host;
  }

  /** Reads `length` bytes at I/O virtual address `iova`; untransferred bytes are zero. */
  read(iova: bigint, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.#transfer(iova, length, 'read', (pa, done, count) => {
      out.set(this.#host.ram.read(pa, count), done);
    });
    return out;
  }

  /** Writes `data` at I/O virtual address `iova`; untranslatable parts are dropped. */
  write(iova: bigint, data: Uint8Array): void {
    this.#transfer(iova, data.length, 'write', (pa, done, count) => {
      this.#host.ram.write(pa, data.subarray(done, done + count));
    });
  }

  #transfer(
    iova: bigint,
    length: number,
    access: DmaAccess,
    move: (pa: number, done: number, count: number) => void,
  ): void {
    const { ram, iommu, findings } = this.#host;
    const endpoint = this.#endpoint;
    if (length === 0) return;
    if (!endpoint.busMasterEnabled) {
      findings.add({
        message: `${endpoint.label}: DMA ${access} of ${length} bytes at ${hex(iova)} blocked: bus mastering is off (COMMAND bit 2)`,
        detail: { endpoint: endpoint.requesterId, iova: hex(iova), length, access },
      });
      return;
    }
    let done = 0;
    while (done < length) {
      const at = (iova + BigInt(done)) & U64_MASK;
      const remaining = length - done;
      const t = iommu.translate(endpoint.requesterId, at, remaining, access);
      if (!t.ok) return;
      if (!Number.isInteger(t.length) || t.length < 1 || t.length > remaining) {
        findings.add({
          message: `${endpoint.label}: the IOMMU translated ${hex(at)} with an invalid length ${t.length}; DMA abandoned`,
        });
        return;
      }
      if (!ram.contains(t.pa, t.length)) {
        findings.add({
          message: `${endpoint.label}: DMA ${access} at ${hex(at)} translated to ${hex(t.pa)}, outside RAM; dropped`,
          detail: {
            endpoint: endpoint.requesterId,
            iova: hex(at),
            pa: hex(t.pa),
            length: t.length,
            access,
          },
        });
        return;
      }
      move(Number(t.pa), done, t.length);
      done += t.length;
    }
  }
}
