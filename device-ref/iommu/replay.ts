// Layer: iommu.
// Replay of a request stream captured from a real driver (viommu driver-check): the same
// VirtioIommu that serves a live driver over virtio-pci, fed the device-readable bytes of each
// request as the driver built them, so a captured driver is judged by the same findings as a
// live one. There is no transport and no DMA: no queue ever has a buffer, no fault is raised.
//
// A stream also shows where each MAP points in guest-physical memory. When the capture knows
// the guest's RAM, two statements that need it are judged here: drv.map.mmio-flag (a range
// outside RAM holds device registers and wants VIRTIO_IOMMU_MAP_F_MMIO) and
// drv.map.single-memory-type (a range that is part RAM, part not).

import {
  decodeMapDriverPart,
  SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART,
  VIRTIO_IOMMU_MAP_F_MMIO,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_T_MAP,
  decodeRequestTail,
  type MapDriverPart,
} from '../../dist/ts/index.js';
import { hex } from '../hex.js';
import type { QueueAccess, VirtioDeviceContext } from '../virtio/device-model.js';
import type { IommuCore } from './core.js';
import type { FindingSink } from './findings.js';
import type { IommuCoreOptions } from './options.js';
import { loadStatementCatalog, type StatementCatalog } from './statements.js';
import { createVirtioIommu, DEVICE_LIMITS, type VirtioIommu } from './virtio-iommu.js';

/** Driver statements that only a replay with the guest's memory map can judge. */
export const REPLAY_DRIVER_STATEMENTS = [
  'drv.map.mmio-flag',
  'drv.map.single-memory-type',
] as const;

export type ReplayStatement = (typeof REPLAY_DRIVER_STATEMENTS)[number];

/** A guest-physical range, both ends inclusive. */
export interface PhysicalRange {
  start: bigint;
  end: bigint;
}

export interface ReplayOptions extends Omit<IommuCoreOptions, 'maxMappings'> {
  /** The guest's RAM; without it the MAP checks against memory types are not made. */
  ram?: readonly PhysicalRange[];
}

/** What the device did with one replayed request. */
export interface ReplayedRequest {
  /** The bytes the device wrote from the start of the writable part (empty: returned unwritten). */
  written: Uint8Array;
  /** The status of the tail the device wrote, if it wrote one. */
  status?: number;
}

const NO_QUEUE: QueueAccess = { pop: () => null, push: () => {} };
const NO_TRANSPORT: VirtioDeviceContext = {
  queue: () => NO_QUEUE,
  configChanged: () => {},
  needsReset: () => {},
};

export class RequestReplay {
  readonly #device: VirtioIommu;
  readonly #ram: readonly PhysicalRange[] | undefined;
  readonly #catalog: StatementCatalog;
  readonly #sink: FindingSink;

  /** Throws on options a device cannot have, or a catalog without the statements it reports. */
  constructor(options: ReplayOptions, sink: FindingSink, catalog: StatementCatalog) {
    for (const id of REPLAY_DRIVER_STATEMENTS) {
      if (catalog.get(id)?.role !== 'driver')
        throw new Error(`The replay reports findings as ${id}, which is not a driver statement`);
    }
    this.#device = createVirtioIommu(NO_TRANSPORT, { ...DEVICE_LIMITS, ...options }, sink, catalog);
    this.#ram = options.ram && [...options.ram].sort((a, b) => (a.start < b.start ? -1 : 1));
    this.#catalog = catalog;
    this.#sink = sink;
  }

  /** The device state: endpoints, domains, mappings, negotiated features. */
  get core(): IommuCore {
    return this.#device.core;
  }

  /** The driver set FEATURES_OK with these feature bits. */
  featuresAccepted(features: bigint): void {
    this.#device.featuresAccepted(features);
  }

  /** The driver wrote `size` bytes of the configuration at `offset`. */
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    this.#device.writeConfig(offset, size, value);
  }

  /** One request: its device-readable bytes and the size of its device-writable part. */
  request(readable: Uint8Array, writableLength: number): ReplayedRequest {
    const written = this.#device.serve({ readable, writableLength });
    const status =
      written.length >= 4 ? decodeRequestTail(written, written.length - 4).status : undefined;
    if (
      status === VIRTIO_IOMMU_S_OK &&
      readable[0] === VIRTIO_IOMMU_T_MAP &&
      readable.length >= SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART
    ) {
      this.#checkMemoryType(decodeMapDriverPart(readable));
    }
    return { written, status };
  }

  #checkMemoryType(map: MapDriverPart): void {
    if (!this.#ram) return;
    const physEnd = map.phys_start + (map.virt_end - map.virt_start);
    const inRam = bytesInRam(this.#ram, map.phys_start, physEnd);
    const length = physEnd - map.phys_start + 1n;
    const where = `${hex(map.phys_start)}-${hex(physEnd)} (virt ${hex(map.virt_start)}, domain ${map.domain})`;
    const detail = { ...map, phys_end: physEnd };
    if (inRam !== 0n && inRam !== length) {
      this.#report(
        'drv.map.single-memory-type',
        `MAP request: the physical range ${where} is partly RAM (${inRam} bytes) and partly not`,
        detail,
      );
    } else if (inRam === 0n && (map.flags & VIRTIO_IOMMU_MAP_F_MMIO) === 0) {
      this.#report(
        'drv.map.mmio-flag',
        `MAP request: the physical range ${where} lies outside the guest's RAM, so it holds device registers, and VIRTIO_IOMMU_MAP_F_MMIO is not set`,
        detail,
      );
    }
  }

  #report(statement: ReplayStatement, message: string, detail: Record<string, unknown>): void {
    this.#sink({
      statement,
      message,
      detail: { ...detail, rule: this.#catalog.get(statement)!.text },
    });
  }
}

/** How many bytes of [start, end] lie in `ram` (sorted, disjoint). */
function bytesInRam(ram: readonly PhysicalRange[], start: bigint, end: bigint): bigint {
  let total = 0n;
  for (const range of ram) {
    const from = range.start > start ? range.start : start;
    const to = range.end < end ? range.end : end;
    if (from <= to) total += to - from + 1n;
  }
  return total;
}

/** A replay quoting statements from dist/cases.json. */
export function createRequestReplay(
  options: ReplayOptions,
  sink: FindingSink,
  catalog: StatementCatalog = loadStatementCatalog(),
): RequestReplay {
  return new RequestReplay(options, sink, catalog);
}
