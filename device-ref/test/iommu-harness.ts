// A bench for the IOMMU core's tests: a VirtioIommu with fake queues in place of the
// virtio-pci transport, requests encoded byte by byte as a driver lays them out, and the
// findings the device reports.

import type { Translation } from '../platform/dma-translation.js';
import type { DescriptorChain, QueueAccess, VirtioDeviceContext } from '../virtio/device-model.js';
import type { ReservedRegion } from '../iommu/options.js';
import type { IommuFinding } from '../iommu/findings.js';
import {
  decodeFault,
  encodeAttachDriverPart,
  encodeDetachDriverPart,
  encodeMapDriverPart,
  encodeProbeDriverPart,
  encodeUnmapDriverPart,
  SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_DETACH_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_UNMAP_DRIVER_PART,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
  VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_T_ATTACH,
  VIRTIO_IOMMU_T_DETACH,
  VIRTIO_IOMMU_T_MAP,
  VIRTIO_IOMMU_T_PROBE,
  VIRTIO_IOMMU_T_UNMAP,
  type Fault,
  type RequestHead,
} from '../../dist/ts/index.js';
import { loadStatementCatalog } from '../iommu/statements.js';
import {
  createVirtioIommu,
  DEVICE_LIMITS,
  EVENT_QUEUE,
  REQUEST_QUEUE,
  type VirtioIommu,
  type VirtioIommuOptions,
} from '../iommu/virtio-iommu.js';

export const EP = 0x08;
export const EP2 = 0x10;
export const EP3 = 0x18;
export const NONEXISTENT = 0x9999;
export const PAGE = 0x1000n;
export const RAM = 0x10_0000n;
export const MSI_REGION: ReservedRegion = {
  subtype: VIRTIO_IOMMU_RESV_MEM_T_MSI,
  start: 0xfee0_0000n,
  end: 0xfeef_ffffn,
};
export const RESERVED_REGION: ReservedRegion = {
  subtype: VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
  start: 0x800_0000n,
  end: 0x80f_ffffn,
};

/** The MAP flags the tests use most: read-only, and read-write. */
export const R = VIRTIO_IOMMU_MAP_F_READ;
export const RW = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;

export const bit = (n: number): bigint => 1n << BigInt(n);

export const ALL_FEATURES =
  bit(VIRTIO_IOMMU_F_INPUT_RANGE) |
  bit(VIRTIO_IOMMU_F_DOMAIN_RANGE) |
  bit(VIRTIO_IOMMU_F_MAP_UNMAP) |
  bit(VIRTIO_IOMMU_F_PROBE) |
  bit(VIRTIO_IOMMU_F_MMIO) |
  bit(VIRTIO_IOMMU_F_BYPASS_CONFIG);

/** The options of a q35-like device: EP has the x86 MSI window, EP2 a reserved region, EP3 none. */
export function testOptions(overrides: Partial<VirtioIommuOptions> = {}): VirtioIommuOptions {
  return {
    ...DEVICE_LIMITS,
    endpoints: [
      { id: EP, reservedRegions: [MSI_REGION] },
      { id: EP2, reservedRegions: [RESERVED_REGION] },
      { id: EP3 },
    ],
    features: ALL_FEATURES,
    pageSizeMask: ~0xfffn & 0xffff_ffff_ffff_ffffn,
    inputRange: { start: 0n, end: 0xffff_ffff_ffffn },
    domainRange: { start: 1, end: 0xffff },
    probeSize: 512,
    bypass: 0,
    ...overrides,
  };
}

export interface UsedChain {
  chain: DescriptorChain;
  written: Uint8Array;
}

export class FakeQueue implements QueueAccess {
  readonly available: DescriptorChain[] = [];
  readonly used: UsedChain[] = [];

  pop(): DescriptorChain | null {
    return this.available.shift() ?? null;
  }

  push(chain: DescriptorChain, written: Uint8Array): void {
    if (written.length > chain.writableLength)
      throw new RangeError(`wrote ${written.length} bytes into ${chain.writableLength}`);
    this.used.push({ chain, written });
  }
}

export class FakeContext implements VirtioDeviceContext {
  readonly queues = [new FakeQueue(), new FakeQueue()];

  queue(index: number): FakeQueue {
    return this.queues[index]!;
  }

  configChanged(): void {}

  needsReset(reason: string): void {
    throw new Error(`the device asked for a reset: ${reason}`);
  }
}

const catalog = loadStatementCatalog();

export interface Harness {
  device: VirtioIommu;
  context: FakeContext;
  findings: IommuFinding[];
}

/** A device with `features` negotiated (by default everything it offers). */
export function makeDevice(
  overrides: Partial<VirtioIommuOptions> = {},
  features?: bigint,
): Harness {
  const context = new FakeContext();
  const findings: IommuFinding[] = [];
  const device = createVirtioIommu(
    context,
    testOptions(overrides),
    (f) => findings.push(f),
    catalog,
  );
  device.featuresAccepted(features ?? device.offeredFeatures());
  return { device, context, findings };
}

/** A device as makeDevice gives it, with EP attached to domain 1. */
export function withDomain(
  overrides: Partial<VirtioIommuOptions> = {},
  features?: bigint,
): Harness {
  const h = makeDevice(overrides, features);
  const status = attach(h, { domain: 1, endpoint: EP });
  if (status !== VIRTIO_IOMMU_S_OK) throw new Error(`ATTACH of EP to domain 1: status ${status}`);
  return h;
}

/** Sends one chain on the request queue; returns what the device wrote (empty: used length 0). */
export function send(h: Harness, readable: Uint8Array, writableLength = 4): Uint8Array {
  const queue = h.context.queue(REQUEST_QUEUE);
  const chain = { readable, writableLength };
  queue.available.push(chain);
  h.device.queueNotified(REQUEST_QUEUE, queue);
  const used = queue.used.pop()!;
  if (used.chain !== chain) throw new Error('the device did not return the chain');
  return used.written;
}

export interface HeadFields {
  type?: number;
  /** The three reserved bytes of the head, as a little-endian 24-bit number. */
  headReserved?: number;
}

/** `size` little-endian bytes of `value`. */
function le(value: number | bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let rest = BigInt(value);
  for (let i = 0; i < size; i++, rest >>= 8n) out[i] = Number(rest & 0xffn);
  return out;
}

function head(type: number, fields: HeadFields): RequestHead {
  return { type: fields.type ?? type, reserved: le(fields.headReserved ?? 0, 3) };
}

/** A request part of `size` bytes, encoded by `encode`. */
export function encoded<T>(
  size: number,
  encode: (bytes: Uint8Array, value: T) => number,
  value: T,
): Uint8Array {
  const out = new Uint8Array(size);
  encode(out, value);
  return out;
}

export function attachRequest(
  f: { domain: number; endpoint: number; flags?: number; reserved?: number } & HeadFields,
): Uint8Array {
  return encoded(SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART, encodeAttachDriverPart, {
    head: head(VIRTIO_IOMMU_T_ATTACH, f),
    domain: f.domain,
    endpoint: f.endpoint,
    flags: f.flags ?? 0,
    reserved: le(f.reserved ?? 0, 4),
  });
}

export function detachRequest(
  f: { domain: number; endpoint: number; reserved?: bigint } & HeadFields,
): Uint8Array {
  return encoded(SIZEOF_VIRTIO_IOMMU_REQ_DETACH_DRIVER_PART, encodeDetachDriverPart, {
    head: head(VIRTIO_IOMMU_T_DETACH, f),
    domain: f.domain,
    endpoint: f.endpoint,
    reserved: le(f.reserved ?? 0n, 8),
  });
}

export function mapRequest(
  f: {
    domain: number;
    virt_start: bigint;
    virt_end: bigint;
    phys_start: bigint;
    flags: number;
  } & HeadFields,
): Uint8Array {
  return encoded(SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART, encodeMapDriverPart, {
    head: head(VIRTIO_IOMMU_T_MAP, f),
    domain: f.domain,
    virt_start: f.virt_start,
    virt_end: f.virt_end,
    phys_start: f.phys_start,
    flags: f.flags,
  });
}

export function unmapRequest(
  f: { domain: number; virt_start: bigint; virt_end: bigint; reserved?: number } & HeadFields,
): Uint8Array {
  return encoded(SIZEOF_VIRTIO_IOMMU_REQ_UNMAP_DRIVER_PART, encodeUnmapDriverPart, {
    head: head(VIRTIO_IOMMU_T_UNMAP, f),
    domain: f.domain,
    virt_start: f.virt_start,
    virt_end: f.virt_end,
    reserved: le(f.reserved ?? 0, 4),
  });
}

export function probeRequest(f: { endpoint: number; reserved?: number } & HeadFields): Uint8Array {
  const reserved = new Uint8Array(64);
  reserved.set(le(f.reserved ?? 0, 4));
  return encoded(SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART, encodeProbeDriverPart, {
    head: head(VIRTIO_IOMMU_T_PROBE, f),
    endpoint: f.endpoint,
    reserved,
  });
}

/** The status of a reply, failing when the device wrote no tail. */
export function statusOf(written: Uint8Array): number {
  if (written.length < 4) throw new Error(`the device wrote ${written.length} bytes, no tail`);
  return written[written.length - 4]!;
}

/** The fields of a MAP of [virt_start, virt_end] onto phys_start, in domain 1 unless told. */
export function mapping(
  virt_start: bigint,
  virt_end: bigint,
  phys_start: bigint,
  flags: number,
  domain = 1,
): Parameters<typeof mapRequest>[0] {
  return { domain, virt_start, virt_end, phys_start, flags };
}

export const attach = (h: Harness, f: Parameters<typeof attachRequest>[0]): number =>
  statusOf(send(h, attachRequest(f)));
export const detach = (h: Harness, f: Parameters<typeof detachRequest>[0]): number =>
  statusOf(send(h, detachRequest(f)));
export const map = (h: Harness, f: Parameters<typeof mapRequest>[0]): number =>
  statusOf(send(h, mapRequest(f)));
export const unmap = (h: Harness, f: Parameters<typeof unmapRequest>[0]): number =>
  statusOf(send(h, unmapRequest(f)));

/** A PROBE with `room` bytes for properties (default probe_size); returns what the device wrote. */
export function probe(
  h: Harness,
  f: Parameters<typeof probeRequest>[0],
  room = h.device.core.options.probeSize,
): Uint8Array {
  return send(h, probeRequest(f), room + 4);
}

export function dma(
  h: Harness,
  endpoint: number,
  access: 'read' | 'write',
  iova: bigint,
  length = 16,
): Translation {
  return h.device.translate(endpoint, iova, length, access);
}

/** Offers `count` event buffers of `size` bytes and tells the device. */
export function offerEventBuffers(h: Harness, count: number, size = 24): void {
  const queue = h.context.queue(EVENT_QUEUE);
  for (let i = 0; i < count; i++)
    queue.available.push({ readable: new Uint8Array(0), writableLength: size });
  h.device.queueNotified(EVENT_QUEUE, queue);
}

/** The fault reports the device wrote into event buffers, oldest first. */
export function faultReports(h: Harness): Fault[] {
  return h.context
    .queue(EVENT_QUEUE)
    .used.filter((u) => u.written.length > 0)
    .map(({ written }) => decodeFault(written));
}

/** Everything a request can change, as plain data: domains, their kind, endpoints and mappings. */
export function deviceState(h: Harness): unknown {
  const core = h.device.core;
  return {
    domains: [...core.domains.values()]
      .sort((a, b) => a.id - b.id)
      .map((d) => ({
        id: d.id,
        bypass: d.bypass,
        endpoints: [...d.endpoints].sort(),
        mappings: [...d.mappings.entries()],
      })),
    endpoints: [...core.endpoints.values()].map((e) => ({ id: e.id, domain: e.domain?.id })),
    bypass: core.bypass,
  };
}

/** The statements of the findings so far, and forgets them. */
export function takeFindings(h: Harness): (string | undefined)[] {
  return h.findings.splice(0).map((f) => f.statement);
}
