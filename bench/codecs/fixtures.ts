// Seeded fixtures for the codec benchmark: the same ATTACH, MAP and UNMAP requests, fault
// reports and PROBE replies on every run.

import * as gen from '../../dist/ts/index.js';
import type {
  AttachRequest,
  Fault,
  MapRequest,
  ProbePropertyEntry,
  ProbeResvMem,
  RequestHead,
  RequestTail,
  UnmapRequest,
} from '../../dist/ts/index.js';
import { seededRandom } from '../seeded-random.js';

const next = seededRandom(0x1057);
const u32 = () => Math.floor(next() * 2 ** 32);
const u64 = () => (BigInt(u32()) << 32n) | BigInt(u32());
const head = (type: number): RequestHead => ({ type, reserved: new Uint8Array(3) });
const tail = (): RequestTail => ({ status: Math.floor(next() * 9), reserved: new Uint8Array(3) });

export const FIXTURES = 64;
const many = <T>(make: () => T): T[] => Array.from({ length: FIXTURES }, make);

export const attach = many((): AttachRequest => ({
  head: head(gen.VIRTIO_IOMMU_T_ATTACH),
  domain: u32(),
  endpoint: u32(),
  flags: u32() & 1,
  reserved: new Uint8Array(4),
  tail: tail(),
}));
export const map = many((): MapRequest => ({
  head: head(gen.VIRTIO_IOMMU_T_MAP),
  domain: u32(),
  virt_start: u64(),
  virt_end: u64(),
  phys_start: u64(),
  flags: u32() & 7,
  tail: tail(),
}));
export const unmap = many((): UnmapRequest => ({
  head: head(gen.VIRTIO_IOMMU_T_UNMAP),
  domain: u32(),
  virt_start: u64(),
  virt_end: u64(),
  reserved: new Uint8Array(4),
  tail: tail(),
}));
export const fault = many((): Fault => ({
  reason: u32() % 3,
  reserved: new Uint8Array(3),
  flags: u32() & 0x103,
  endpoint: u32(),
  reserved1: 0,
  address: u64(),
}));

/** A PROBE reply: two RESV_MEM properties (an MSI doorbell and a reserved range), then zeroes. */
export const PROBE_SIZE = 512;
export interface ProbeReply {
  regions: ProbeResvMem[];
  tail: RequestTail;
}
/** A PROBE reply as the decoders return it: every property up to the empty one, and the tail. */
export interface DecodedProbeReply {
  properties: ProbePropertyEntry[];
  tail: RequestTail;
}
const resvMem = (subtype: number): ProbeResvMem => {
  const start = u64() & ~0xfffn;
  return {
    head: { type: gen.VIRTIO_IOMMU_PROBE_T_RESV_MEM, reserved: 0, length: 20 },
    subtype,
    reserved: new Uint8Array(3),
    start,
    end: start + 0xfffffn,
  };
};
export const probe = many((): ProbeReply => ({
  regions: [
    resvMem(gen.VIRTIO_IOMMU_RESV_MEM_T_MSI),
    resvMem(gen.VIRTIO_IOMMU_RESV_MEM_T_RESERVED),
  ],
  tail: tail(),
}));
