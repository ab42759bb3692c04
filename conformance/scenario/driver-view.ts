// What the driver believes about the device after the requests it completed with S_OK:
// which domain each endpoint is in, which domains are bypass domains, and every mapping
// ever made (so a DMA check can watch each physical page an access might leak to).

import { VIRTIO_IOMMU_ATTACH_F_BYPASS } from '../../dist/ts/index.js';
import type { RequestVerb } from '../driver/requests.js';

export interface Mapping {
  domain: number;
  virtStart: bigint;
  virtEnd: bigint;
  physStart: bigint;
  /** VIRTIO_IOMMU_MAP_F_* */
  flags: number;
}

interface Domain {
  bypass: boolean;
  endpoints: Set<number>;
  mappings: Mapping[];
}

export class DriverView {
  readonly #domains = new Map<number, Domain>();
  readonly #endpointDomain = new Map<number, number>();
  /** Every mapping a MAP created, including ones removed since. */
  readonly everMapped: Mapping[] = [];

  /** Applies a request the device completed with S_OK. */
  apply(verb: RequestVerb, fields: Readonly<Record<string, bigint>>): void {
    const domain = Number(fields['domain'] ?? 0n);
    const endpoint = Number(fields['endpoint'] ?? 0n);
    const virtStart = fields['virt_start'] ?? 0n;
    const virtEnd = fields['virt_end'] ?? 0n;
    if (verb === 'attach') {
      this.#leave(endpoint);
      let entry = this.#domains.get(domain);
      if (entry === undefined) {
        entry = {
          bypass: ((fields['flags'] ?? 0n) & BigInt(VIRTIO_IOMMU_ATTACH_F_BYPASS)) !== 0n,
          endpoints: new Set(),
          mappings: [],
        };
        this.#domains.set(domain, entry);
      }
      entry.endpoints.add(endpoint);
      this.#endpointDomain.set(endpoint, domain);
    } else if (verb === 'detach') {
      if (this.#endpointDomain.get(endpoint) === domain) this.#leave(endpoint);
    } else if (verb === 'map') {
      const mapping = {
        domain,
        virtStart,
        virtEnd,
        physStart: fields['phys_start'] ?? 0n,
        flags: Number(fields['flags'] ?? 0n),
      };
      this.#domains.get(domain)?.mappings.push(mapping);
      this.everMapped.push(mapping);
    } else if (verb === 'unmap') {
      const entry = this.#domains.get(domain);
      if (entry !== undefined) {
        entry.mappings = entry.mappings.filter(
          (m) => m.virtStart < virtStart || m.virtEnd > virtEnd,
        );
      }
    }
  }

  /** After a device reset: no domains (mappings made before stay in everMapped). */
  reset(): void {
    this.#domains.clear();
    this.#endpointDomain.clear();
  }

  /** The domain the endpoint is in, and whether it is a bypass domain. */
  domainOf(endpoint: number): { id: number; bypass: boolean } | undefined {
    const id = this.#endpointDomain.get(endpoint);
    const entry = id === undefined ? undefined : this.#domains.get(id);
    return id === undefined || entry === undefined ? undefined : { id, bypass: entry.bypass };
  }

  /** The mappings of domain `id` now (none for an unknown domain). */
  mappingsOf(id: number): readonly Mapping[] {
    return this.#domains.get(id)?.mappings ?? [];
  }

  /** Physical addresses `iova` was ever mapped to, in any domain. */
  physicalAliases(iova: bigint): bigint[] {
    return this.everMapped
      .filter((m) => iova >= m.virtStart && iova <= m.virtEnd)
      .map((m) => m.physStart + (iova - m.virtStart));
  }

  #leave(endpoint: number): void {
    const id = this.#endpointDomain.get(endpoint);
    if (id === undefined) return;
    this.#endpointDomain.delete(endpoint);
    const entry = this.#domains.get(id);
    entry?.endpoints.delete(endpoint);
    if (entry !== undefined && entry.endpoints.size === 0) this.#domains.delete(id);
  }
}
