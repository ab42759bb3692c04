// Layer: iommu.
// The IOMMU core of the reference device: endpoints, domains and their mappings, the
// features, bypass mode and the configuration space. There is no transport here:
// virtio-iommu.ts decodes requests, hands them to the handler of their type (attach.ts,
// detach.ts, map.ts, unmap.ts, probe.ts), translates DMA through translation.ts and carries
// faults to the event queue. Its options and their check are in options.ts.

import {
  encodeConfig,
  SIZEOF_VIRTIO_IOMMU_CONFIG,
  STRUCT_LAYOUTS,
  VIRTIO_IOMMU_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_PROBE,
  featureName,
} from '../../dist/ts/index.js';
import { hex } from '../hex.js';
import type { DriverFindings } from './findings.js';
import { MappingTree } from './mappings.js';
import {
  sortedRegions,
  U32_MAX,
  U64_MAX,
  validateOptions,
  type IommuCoreOptions,
  type ReservedRegion,
} from './options.js';

export class Domain {
  readonly endpoints = new Set<number>();
  readonly mappings = new MappingTree();

  constructor(
    readonly id: number,
    /** Created by ATTACH with VIRTIO_IOMMU_ATTACH_F_BYPASS: its endpoints are in bypass mode. */
    readonly bypass: boolean,
  ) {}
}

export interface EndpointState {
  readonly id: number;
  /** Sorted by start, disjoint. */
  readonly reservedRegions: readonly ReservedRegion[];
  domain: Domain | undefined;
  /** A PROBE request for it succeeded since the last device reset. */
  probed: boolean;
}

/** Where `bypass` lies in `struct virtio_iommu_config`: the one field a driver may write. */
const BYPASS_OFFSET = STRUCT_LAYOUTS.virtio_iommu_config.fields.bypass.offset;
/** Feature bits 0 to 23 belong to the device type; the others to the transport. */
const DEVICE_TYPE_FEATURES = 0xff_ffffn;

export class IommuCore {
  readonly options: Readonly<IommuCoreOptions>;
  readonly findings: DriverFindings;
  /** The page granularity: the lowest set bit of page_size_mask; the others are hints (dev.config.page-sizes). */
  readonly granularity: bigint;
  readonly endpoints = new Map<number, EndpointState>();
  readonly domains = new Map<number, Domain>();

  // Device-type feature bits (0 to 23) as plain numbers: checked on every request and DMA.
  readonly #offered: number;
  #negotiated = 0;
  #bypass: 0 | 1;
  #mappingCount = 0;
  /** `struct virtio_iommu_config` as the driver reads it; only `bypass` ever changes it. */
  #config: DataView;

  /** Throws on options a device cannot have (see validateOptions). */
  constructor(options: IommuCoreOptions, findings: DriverFindings) {
    validateOptions(options);
    this.options = options;
    this.findings = findings;
    this.granularity = options.pageSizeMask & -options.pageSizeMask;
    this.#bypass = options.bypass;
    this.#offered = Number(options.features & DEVICE_TYPE_FEATURES);
    this.#config = this.#encodeConfig();
    for (const endpoint of options.endpoints) {
      this.endpoints.set(endpoint.id, {
        id: endpoint.id,
        reservedRegions: sortedRegions(endpoint),
        domain: undefined,
        probed: false,
      });
    }
  }

  // --- features ---

  offers(bit: number): boolean {
    return ((this.#offered >>> bit) & 1) === 1;
  }

  negotiated(bit: number): boolean {
    return ((this.#negotiated >>> bit) & 1) === 1;
  }

  /** The driver set FEATURES_OK with `features` (all 64 bits; the device keeps its own). */
  featuresAccepted(features: bigint): void {
    this.#negotiated = Number(features & DEVICE_TYPE_FEATURES) & this.#offered;
    // drv.features.accept
    const declined = [
      VIRTIO_IOMMU_F_INPUT_RANGE,
      VIRTIO_IOMMU_F_DOMAIN_RANGE,
      VIRTIO_IOMMU_F_PROBE,
    ].filter((bit) => this.offers(bit) && !this.negotiated(bit));
    if (declined.length > 0) {
      const names = declined.map(featureName);
      this.findings.report(
        'drv.features.accept',
        `the driver declined ${names.join(', ')}, which the device offered`,
        {
          declined: names,
        },
      );
    }
  }

  // --- limits ---

  /**
   * Whether `domain` lies in domain_range; when it does not, reports the driver
   * (drv.req.domain-range) if it knows the range, i.e. negotiated F_DOMAIN_RANGE.
   */
  domainInRange(domain: number, request: string): boolean {
    if (!this.offers(VIRTIO_IOMMU_F_DOMAIN_RANGE)) return true;
    const { start, end } = this.options.domainRange;
    if (domain >= start && domain <= end) return true;
    if (this.negotiated(VIRTIO_IOMMU_F_DOMAIN_RANGE)) {
      this.findings.report(
        'drv.req.domain-range',
        `${request} request: domain ${domain} lies outside domain_range ${start}-${end}; the device answered VIRTIO_IOMMU_S_RANGE`,
        { domain, domain_range: { start, end } },
      );
    }
    return false;
  }

  /** Like domainInRange, for [virt_start, virt_end] and input_range (drv.req.input-range). */
  rangeInInput(virt_start: bigint, virt_end: bigint, request: string): boolean {
    if (!this.offers(VIRTIO_IOMMU_F_INPUT_RANGE)) return true;
    const { start, end } = this.options.inputRange;
    if (virt_start >= start && virt_end <= end) return true;
    if (this.negotiated(VIRTIO_IOMMU_F_INPUT_RANGE)) {
      this.findings.report(
        'drv.req.input-range',
        `${request} request: ${hex(virt_start)}-${hex(virt_end)} reaches outside input_range ${hex(start)}-${hex(end)}; the device answered VIRTIO_IOMMU_S_RANGE`,
        { virt_start, virt_end, input_range: { start, end } },
      );
    }
    return false;
  }

  // --- endpoints and domains ---

  /**
   * Puts `endpoint` into domain `id`, creating the domain, after taking it out of the domain
   * it is in, exactly as DETACH would (dev.attach.move, dev.attach.move-as-detach).
   */
  attach(endpoint: EndpointState, id: number, bypass: boolean): void {
    if (endpoint.domain?.id === id) return;
    if (endpoint.domain) this.detach(endpoint);
    let domain = this.domains.get(id);
    if (!domain) {
      domain = new Domain(id, bypass);
      this.domains.set(id, domain);
    }
    domain.endpoints.add(endpoint.id);
    endpoint.domain = domain;
  }

  /** Takes `endpoint` out of its domain; a domain left without endpoints ceases to exist. */
  detach(endpoint: EndpointState): void {
    const domain = endpoint.domain;
    if (!domain) return;
    domain.endpoints.delete(endpoint.id);
    endpoint.domain = undefined;
    if (domain.endpoints.size === 0) {
      this.domains.delete(domain.id);
      this.#mappingCount -= domain.mappings.size;
    }
  }

  /** The reserved region of an endpoint of `domain` that [start, end] overlaps, if any. */
  reservedOverlap(
    domain: Domain,
    start: bigint,
    end: bigint,
  ): { endpoint: number; region: ReservedRegion } | undefined {
    for (const id of domain.endpoints) {
      for (const region of this.endpoints.get(id)!.reservedRegions) {
        if (region.start <= end && start <= region.end) return { endpoint: id, region };
      }
    }
    return undefined;
  }

  /** Whether one more mapping fits under maxMappings. */
  get canMap(): boolean {
    return this.#mappingCount < this.options.maxMappings;
  }

  /** Keeps the device-wide mapping count in step with MAP and UNMAP. */
  mappingsChanged(delta: number): void {
    this.#mappingCount += delta;
  }

  // --- bypass ---

  /** dev.bypass.identity: the three cases of "Bypass mode". */
  inBypass(endpoint: EndpointState): boolean {
    if (endpoint.domain) return endpoint.domain.bypass;
    if (this.offers(VIRTIO_IOMMU_F_BYPASS_CONFIG) && this.#bypass === 1) return true;
    return this.negotiated(VIRTIO_IOMMU_F_BYPASS);
  }

  // --- configuration space ---

  /** The value of `bypass` now. */
  get bypass(): 0 | 1 {
    return this.#bypass;
  }

  /**
   * `struct virtio_iommu_config` as the driver reads it. Fields whose feature the device
   * does not offer show the limits that then apply: the whole 64-bit input range, every
   * domain ID, a probe_size and bypass of 0.
   */
  #encodeConfig(): DataView {
    const bytes = new Uint8Array(SIZEOF_VIRTIO_IOMMU_CONFIG);
    encodeConfig(bytes, {
      page_size_mask: this.options.pageSizeMask,
      input_range: this.offers(VIRTIO_IOMMU_F_INPUT_RANGE)
        ? this.options.inputRange
        : { start: 0n, end: U64_MAX },
      domain_range: this.offers(VIRTIO_IOMMU_F_DOMAIN_RANGE)
        ? this.options.domainRange
        : { start: 0, end: U32_MAX },
      probe_size: this.offers(VIRTIO_IOMMU_F_PROBE) ? this.options.probeSize : 0,
      bypass: this.offers(VIRTIO_IOMMU_F_BYPASS_CONFIG) ? this.#bypass : 0,
      reserved: new Uint8Array(3),
    });
    return new DataView(bytes.buffer);
  }

  /** A driver read of `size` bytes at `offset`; all ones past the end, as QEMU answers. */
  readConfig(offset: number, size: 1 | 2 | 4): number {
    if (offset < 0 || offset + size > SIZEOF_VIRTIO_IOMMU_CONFIG)
      return size === 4 ? U32_MAX : (1 << (8 * size)) - 1;
    const view = this.#config;
    if (size === 1) return view.getUint8(offset);
    return size === 2 ? view.getUint16(offset, true) : view.getUint32(offset, true);
  }

  /**
   * A driver write. Only `bypass` changes, only once F_BYPASS_CONFIG has been negotiated and
   * only to 0 or 1; a write of another value leaves it as it was, so that it never shows
   * anything else (dev.config.bypass-value). Every other byte is read-only.
   */
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    const readOnly: number[] = [];
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const byte = Math.floor(value / 2 ** (8 * i)) & 0xff;
      if (at === BYPASS_OFFSET) this.#writeBypass(byte);
      else readOnly.push(at);
    }
    if (readOnly.length > 0) {
      this.findings.report(
        'drv.config.read-only',
        `the driver wrote ${readOnly.length} byte(s) of the device configuration other than bypass, at offset(s) ${readOnly.join(', ')}; the device ignored them`,
        { offset, size, value },
      );
    }
  }

  #writeBypass(byte: number): void {
    if (!this.negotiated(VIRTIO_IOMMU_F_BYPASS_CONFIG)) {
      this.findings.report(
        'drv.config.bypass-write',
        `the driver wrote ${byte} to bypass without having negotiated VIRTIO_IOMMU_F_BYPASS_CONFIG; the device ignored it`,
        { value: byte },
      );
      return;
    }
    if (byte !== 0 && byte !== 1) {
      this.findings.report(
        'drv.config.bypass-value',
        `the driver wrote ${byte} to bypass; the device kept ${this.#bypass}`,
        {
          value: byte,
        },
      );
      return;
    }
    this.#bypass = byte;
    this.#config = this.#encodeConfig();
  }

  // --- resets ---

  /**
   * Device reset: every endpoint leaves its domain, every domain and mapping goes, the
   * features are forgotten. `bypass` keeps its value (dev.config.bypass-device-reset).
   */
  reset(): void {
    this.domains.clear();
    this.#mappingCount = 0;
    this.#negotiated = 0;
    for (const endpoint of this.endpoints.values()) {
      endpoint.domain = undefined;
      endpoint.probed = false;
    }
  }

  /**
   * System reset: a device reset, and `bypass` goes back to its first value
   * (dev.config.bypass-system-reset).
   */
  systemReset(): void {
    this.reset();
    this.#bypass = this.options.bypass;
    this.#config = this.#encodeConfig();
  }
}
