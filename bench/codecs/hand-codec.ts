// The hand-written DataView codec the benchmark sets beside the generated one: what a careful
// person writes for a device model, with the contract of the generated codecs: the same result objects, a bounds check before any access, and every value
// checked before anything is written. `unchecked` writes without the value checks, to show
// what they cost.

import * as gen from '../../dist/ts/index.js';
import type {
  AttachRequest,
  Fault,
  MapRequest,
  ProbePropertyEntry,
  RequestHead,
  RequestTail,
  UnmapRequest,
} from '../../dist/ts/index.js';
import { PROBE_SIZE, type ProbeReply, type DecodedProbeReply } from './fixtures.js';

class HandError extends Error {}
const fitsU8 = (x: number) => (x & 0xff) === x;
const fitsU32 = (x: number) => x >>> 0 === x;
const fitsU64 = (x: bigint) => typeof x === 'bigint' && x >= 0n && x <= 0xffffffffffffffffn;
const isBytes = (x: Uint8Array, n: number) => x instanceof Uint8Array && x.length === n;
function need(v: DataView, size: number): void {
  if (v.byteLength < size) throw new HandError(`needs ${size} bytes, has ${v.byteLength}`);
}
function fits(ok: boolean): void {
  if (!ok) throw new HandError('a value does not fit its field');
}
function bytes3(v: DataView, at: number): Uint8Array {
  const r = new Uint8Array(3);
  r[0] = v.getUint8(at);
  r[1] = v.getUint8(at + 1);
  r[2] = v.getUint8(at + 2);
  return r;
}
function bytes4(v: DataView, at: number): Uint8Array {
  const r = new Uint8Array(4);
  r[0] = v.getUint8(at);
  r[1] = v.getUint8(at + 1);
  r[2] = v.getUint8(at + 2);
  r[3] = v.getUint8(at + 3);
  return r;
}
function put(v: DataView, at: number, b: Uint8Array): void {
  for (let i = 0; i < b.length; i++) v.setUint8(at + i, b[i]);
}
const headOk = (h: RequestHead) => fitsU8(h.type) && isBytes(h.reserved, 3);
const tailOk = (t: RequestTail) => fitsU8(t.status) && isBytes(t.reserved, 3);

export const unchecked = {
  writeHead(v: DataView, at: number, first: number, reserved: Uint8Array): void {
    v.setUint8(at, first);
    put(v, at + 1, reserved);
  },
  attach(v: DataView, x: AttachRequest): void {
    unchecked.writeHead(v, 0, x.head.type, x.head.reserved);
    v.setUint32(4, x.domain, true);
    v.setUint32(8, x.endpoint, true);
    v.setUint32(12, x.flags, true);
    put(v, 16, x.reserved);
    unchecked.writeHead(v, 20, x.tail.status, x.tail.reserved);
  },
  map(v: DataView, x: MapRequest): void {
    unchecked.writeHead(v, 0, x.head.type, x.head.reserved);
    v.setUint32(4, x.domain, true);
    v.setBigUint64(8, x.virt_start, true);
    v.setBigUint64(16, x.virt_end, true);
    v.setBigUint64(24, x.phys_start, true);
    v.setUint32(32, x.flags, true);
    unchecked.writeHead(v, 36, x.tail.status, x.tail.reserved);
  },
  unmap(v: DataView, x: UnmapRequest): void {
    unchecked.writeHead(v, 0, x.head.type, x.head.reserved);
    v.setUint32(4, x.domain, true);
    v.setBigUint64(8, x.virt_start, true);
    v.setBigUint64(16, x.virt_end, true);
    put(v, 24, x.reserved);
    unchecked.writeHead(v, 28, x.tail.status, x.tail.reserved);
  },
  fault(v: DataView, x: Fault): void {
    unchecked.writeHead(v, 0, x.reason, x.reserved);
    v.setUint32(4, x.flags, true);
    v.setUint32(8, x.endpoint, true);
    v.setUint32(12, x.reserved1, true);
    v.setBigUint64(16, x.address, true);
  },
  probeReply(v: DataView, x: ProbeReply): void {
    let at = 0;
    for (const r of x.regions) {
      v.setUint16(at, r.head.type | (r.head.reserved << 12), true);
      v.setUint16(at + 2, r.head.length, true);
      unchecked.writeHead(v, at + 4, r.subtype, r.reserved);
      v.setBigUint64(at + 8, r.start, true);
      v.setBigUint64(at + 16, r.end, true);
      at += 4 + r.head.length;
    }
    for (; at < PROBE_SIZE; at++) v.setUint8(at, 0);
    unchecked.writeHead(v, PROBE_SIZE, x.tail.status, x.tail.reserved);
  },
};

export const hand = {
  readHead: (v: DataView, at: number): RequestHead => ({
    type: v.getUint8(at),
    reserved: bytes3(v, at + 1),
  }),
  readTail: (v: DataView, at: number): RequestTail => ({
    status: v.getUint8(at),
    reserved: bytes3(v, at + 1),
  }),
  encodeAttach(v: DataView, x: AttachRequest): void {
    need(v, 24);
    fits(
      headOk(x.head) &&
        fitsU32(x.domain) &&
        fitsU32(x.endpoint) &&
        fitsU32(x.flags) &&
        isBytes(x.reserved, 4) &&
        tailOk(x.tail),
    );
    unchecked.attach(v, x);
  },
  decodeAttach(v: DataView): AttachRequest {
    need(v, 24);
    return {
      head: hand.readHead(v, 0),
      domain: v.getUint32(4, true),
      endpoint: v.getUint32(8, true),
      flags: v.getUint32(12, true),
      reserved: bytes4(v, 16),
      tail: hand.readTail(v, 20),
    };
  },
  encodeMap(v: DataView, x: MapRequest): void {
    need(v, 40);
    fits(
      headOk(x.head) &&
        fitsU32(x.domain) &&
        fitsU64(x.virt_start) &&
        fitsU64(x.virt_end) &&
        fitsU64(x.phys_start) &&
        fitsU32(x.flags) &&
        tailOk(x.tail),
    );
    unchecked.map(v, x);
  },
  decodeMap(v: DataView): MapRequest {
    need(v, 40);
    return {
      head: hand.readHead(v, 0),
      domain: v.getUint32(4, true),
      virt_start: v.getBigUint64(8, true),
      virt_end: v.getBigUint64(16, true),
      phys_start: v.getBigUint64(24, true),
      flags: v.getUint32(32, true),
      tail: hand.readTail(v, 36),
    };
  },
  encodeUnmap(v: DataView, x: UnmapRequest): void {
    need(v, 32);
    fits(
      headOk(x.head) &&
        fitsU32(x.domain) &&
        fitsU64(x.virt_start) &&
        fitsU64(x.virt_end) &&
        isBytes(x.reserved, 4) &&
        tailOk(x.tail),
    );
    unchecked.unmap(v, x);
  },
  decodeUnmap(v: DataView): UnmapRequest {
    need(v, 32);
    return {
      head: hand.readHead(v, 0),
      domain: v.getUint32(4, true),
      virt_start: v.getBigUint64(8, true),
      virt_end: v.getBigUint64(16, true),
      reserved: bytes4(v, 24),
      tail: hand.readTail(v, 28),
    };
  },
  encodeFault(v: DataView, x: Fault): void {
    need(v, 24);
    fits(
      fitsU8(x.reason) &&
        isBytes(x.reserved, 3) &&
        fitsU32(x.flags) &&
        fitsU32(x.endpoint) &&
        fitsU32(x.reserved1) &&
        fitsU64(x.address),
    );
    unchecked.fault(v, x);
  },
  decodeFault(v: DataView): Fault {
    need(v, 24);
    return {
      reason: v.getUint8(0),
      reserved: bytes3(v, 1),
      flags: v.getUint32(4, true),
      endpoint: v.getUint32(8, true),
      reserved1: v.getUint32(12, true),
      address: v.getBigUint64(16, true),
    };
  },
  encodeProbeReply(v: DataView, x: ProbeReply): void {
    need(v, PROBE_SIZE + 4);
    let size = 0;
    for (const r of x.regions) {
      fits(
        (r.head.type & 0xfff) === r.head.type &&
          (r.head.reserved & 0xf) === r.head.reserved &&
          (r.head.length & 0xffff) === r.head.length &&
          r.head.length >= 20 &&
          fitsU8(r.subtype) &&
          isBytes(r.reserved, 3) &&
          fitsU64(r.start) &&
          fitsU64(r.end),
      );
      size += 4 + r.head.length;
    }
    fits(size <= PROBE_SIZE && tailOk(x.tail));
    unchecked.probeReply(v, x);
  },
  decodeProbeReply(v: DataView): DecodedProbeReply {
    need(v, PROBE_SIZE + 4);
    const properties: ProbePropertyEntry[] = [];
    let at = 0;
    while (at + 4 <= PROBE_SIZE) {
      const word = v.getUint16(at, true);
      const type = word & 0xfff;
      if (type === 0) break;
      const length = v.getUint16(at + 2, true);
      if (at + 4 + length > PROBE_SIZE) throw new HandError('property runs past the end');
      const head = { type, reserved: word >>> 12, length };
      if (type === gen.VIRTIO_IOMMU_PROBE_T_RESV_MEM) {
        if (length < 20) throw new HandError('RESV_MEM too short');
        const property = {
          head,
          subtype: v.getUint8(at + 4),
          reserved: bytes3(v, at + 5),
          start: v.getBigUint64(at + 8, true),
          end: v.getBigUint64(at + 16, true),
        };
        properties.push({ kind: 'resv_mem', offset: at, property });
      } else {
        properties.push({ kind: 'unknown', offset: at, property: head });
      }
      at += 4 + length;
    }
    return { properties, tail: hand.readTail(v, PROBE_SIZE) };
  },
};
