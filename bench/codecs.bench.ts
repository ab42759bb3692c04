// Encode and decode throughput of the generated codecs (dist/ts) against a hand-written
// DataView codec for the same structs and against binary-parser, on seeded fixtures: ATTACH,
// MAP and UNMAP requests, a PROBE reply with its properties, and the fault report.
// Run: npm run bench (or node build/bench/codecs.bench.js). binary-parser only decodes.

// The package's exports map hides its types from ESM imports; its CommonJS build has them.
import { Parser } from 'binary-parser/dist/binary_parser.js';
import { Bench } from 'tinybench';
import * as gen from '../dist/ts/index.js';
import type {
  AttachRequest,
  Fault,
  MapRequest,
  ProbePropertyEntry,
  ProbeResvMem,
  RequestHead,
  RequestTail,
  UnmapRequest,
} from '../dist/ts/index.js';

// ---- Seeded fixtures ------------------------------------------------------------------

/** mulberry32: a small PRNG, so that every run measures the same values. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(0x1057);
const u32 = () => Math.floor(next() * 2 ** 32);
const u64 = () => (BigInt(u32()) << 32n) | BigInt(u32());
const head = (type: number): RequestHead => ({ type, reserved: new Uint8Array(3) });
const tail = (): RequestTail => ({ status: Math.floor(next() * 9), reserved: new Uint8Array(3) });

const FIXTURES = 64;
const many = <T>(make: () => T): T[] => Array.from({ length: FIXTURES }, make);

const attach = many((): AttachRequest => ({
  head: head(gen.VIRTIO_IOMMU_T_ATTACH),
  domain: u32(),
  endpoint: u32(),
  flags: u32() & 1,
  reserved: new Uint8Array(4),
  tail: tail(),
}));
const map = many((): MapRequest => ({
  head: head(gen.VIRTIO_IOMMU_T_MAP),
  domain: u32(),
  virt_start: u64(),
  virt_end: u64(),
  phys_start: u64(),
  flags: u32() & 7,
  tail: tail(),
}));
const unmap = many((): UnmapRequest => ({
  head: head(gen.VIRTIO_IOMMU_T_UNMAP),
  domain: u32(),
  virt_start: u64(),
  virt_end: u64(),
  reserved: new Uint8Array(4),
  tail: tail(),
}));
const fault = many((): Fault => ({
  reason: u32() % 3,
  reserved: new Uint8Array(3),
  flags: u32() & 0x103,
  endpoint: u32(),
  reserved1: 0,
  address: u64(),
}));

/** A PROBE reply: two RESV_MEM properties (an MSI doorbell and a reserved range), then zeroes. */
const PROBE_SIZE = 512;
interface ProbeReply {
  regions: ProbeResvMem[];
  tail: RequestTail;
}
/** A PROBE reply as the decoders return it: every property up to the empty one, and the tail. */
interface DecodedProbeReply {
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
const probe = many((): ProbeReply => ({
  regions: [
    resvMem(gen.VIRTIO_IOMMU_RESV_MEM_T_MSI),
    resvMem(gen.VIRTIO_IOMMU_RESV_MEM_T_RESERVED),
  ],
  tail: tail(),
}));

// ---- Hand-written DataView codec for the same structs -----------------------------------
// What a careful person writes for a device model, with the contract of the generated
// codecs: the same result objects, a bounds check before any access, and every value
// checked before anything is written. `unchecked` writes without the value checks, to show
// what they cost.

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

const unchecked = {
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

const hand = {
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

// ---- binary-parser, decode only ----------------------------------------------------------

const bpHead = new Parser().uint8('type').buffer('reserved', { length: 3, clone: true });
const bpTail = new Parser().uint8('status').buffer('reserved', { length: 3, clone: true });
const bp = {
  attach: new Parser()
    .endianness('little')
    .nest('head', { type: bpHead })
    .uint32('domain')
    .uint32('endpoint')
    .uint32('flags')
    .buffer('reserved', { length: 4, clone: true })
    .nest('tail', { type: bpTail }),
  map: new Parser()
    .endianness('little')
    .nest('head', { type: bpHead })
    .uint32('domain')
    .uint64('virt_start')
    .uint64('virt_end')
    .uint64('phys_start')
    .uint32('flags')
    .nest('tail', { type: bpTail }),
  unmap: new Parser()
    .endianness('little')
    .nest('head', { type: bpHead })
    .uint32('domain')
    .uint64('virt_start')
    .uint64('virt_end')
    .buffer('reserved', { length: 4, clone: true })
    .nest('tail', { type: bpTail }),
  fault: new Parser()
    .endianness('little')
    .uint8('reason')
    .buffer('reserved', { length: 3, clone: true })
    .uint32('flags')
    .uint32('endpoint')
    .uint32('reserved1')
    .uint64('address'),
  // The property list up to the empty property (which the array keeps as its last entry),
  // then the tail at probe_size.
  probe: new Parser()
    .endianness('little')
    .array('properties', {
      type: new Parser()
        .endianness('little')
        .uint16('word')
        .uint16('length')
        .choice({
          tag: function (this: { word: number }) {
            return this.word & 0xfff;
          },
          choices: {
            0: new Parser(),
            1: new Parser()
              .endianness('little')
              .uint8('subtype')
              .buffer('reserved', { length: 3, clone: true })
              .uint64('start')
              .uint64('end')
              .seek(function (this: { length: number }) {
                return this.length - 20;
              }),
          },
          defaultChoice: new Parser().seek(function (this: { length: number }) {
            return this.length;
          }),
        }),
      readUntil: (item: { word: number }) => (item.word & 0xfff) === 0,
    })
    .pointer('tail', { type: bpTail, offset: PROBE_SIZE }),
};

// ---- The runs --------------------------------------------------------------------------

interface Case<T> {
  name: string;
  size: number;
  values: T[];
  generated: { encode(v: DataView, x: T): void; decode(v: DataView): unknown };
  hand: { encode(v: DataView, x: T): void; decode(v: DataView): unknown };
  unchecked: (v: DataView, x: T) => void;
  binaryParser: (b: Uint8Array) => unknown;
  /** binary-parser's result in the shape of the others, to check that all three agree. */
  fromBinaryParser?: (parsed: never) => unknown;
}

interface BpProbe {
  properties: {
    word: number;
    length: number;
    subtype: number;
    reserved: Uint8Array;
    start: bigint;
    end: bigint;
  }[];
  tail: RequestTail;
}

function probeEncode(v: DataView, x: ProbeReply): void {
  let at = 0;
  for (const r of x.regions) at = gen.encodeProbeResvMem(v, r, at);
  if (at > PROBE_SIZE) throw new RangeError('the properties do not fit probe_size');
  for (; at < PROBE_SIZE; at++) v.setUint8(at, 0);
  gen.encodeRequestTail(v, x.tail, PROBE_SIZE);
}
function probeDecode(v: DataView): DecodedProbeReply {
  return {
    properties: gen.decodeProbeProperties(v, 0, PROBE_SIZE),
    tail: gen.decodeRequestTail(v, PROBE_SIZE),
  };
}

const cases = [
  {
    name: 'ATTACH request',
    size: gen.SIZEOF_VIRTIO_IOMMU_REQ_ATTACH,
    values: attach,
    generated: {
      encode: (v, x) => gen.encodeAttachRequest(v, x),
      decode: (v) => gen.decodeAttachRequest(v),
    },
    hand: { encode: hand.encodeAttach, decode: hand.decodeAttach },
    unchecked: unchecked.attach,
    binaryParser: (b) => bp.attach.parse(b),
  } satisfies Case<AttachRequest>,
  {
    name: 'MAP request',
    size: gen.SIZEOF_VIRTIO_IOMMU_REQ_MAP,
    values: map,
    generated: {
      encode: (v, x) => gen.encodeMapRequest(v, x),
      decode: (v) => gen.decodeMapRequest(v),
    },
    hand: { encode: hand.encodeMap, decode: hand.decodeMap },
    unchecked: unchecked.map,
    binaryParser: (b) => bp.map.parse(b),
  } satisfies Case<MapRequest>,
  {
    name: 'UNMAP request',
    size: gen.SIZEOF_VIRTIO_IOMMU_REQ_UNMAP,
    values: unmap,
    generated: {
      encode: (v, x) => gen.encodeUnmapRequest(v, x),
      decode: (v) => gen.decodeUnmapRequest(v),
    },
    hand: { encode: hand.encodeUnmap, decode: hand.decodeUnmap },
    unchecked: unchecked.unmap,
    binaryParser: (b) => bp.unmap.parse(b),
  } satisfies Case<UnmapRequest>,
  {
    name: 'PROBE reply (512 B, 2 RESV_MEM)',
    size: PROBE_SIZE + gen.SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DEVICE_PART,
    values: probe,
    generated: { encode: probeEncode, decode: probeDecode },
    hand: { encode: hand.encodeProbeReply, decode: hand.decodeProbeReply },
    unchecked: unchecked.probeReply,
    binaryParser: (b) => bp.probe.parse(b),
    fromBinaryParser: (parsed: BpProbe): DecodedProbeReply => {
      let offset = 0;
      const properties: ProbePropertyEntry[] = [];
      for (const p of parsed.properties) {
        const head = { type: p.word & 0xfff, reserved: p.word >>> 12, length: p.length };
        if (head.type === 0) break;
        properties.push(
          head.type === gen.VIRTIO_IOMMU_PROBE_T_RESV_MEM
            ? {
                kind: 'resv_mem',
                offset,
                property: {
                  head,
                  subtype: p.subtype,
                  reserved: p.reserved,
                  start: p.start,
                  end: p.end,
                },
              }
            : { kind: 'unknown', offset, property: head },
        );
        offset += 4 + p.length;
      }
      return { properties, tail: parsed.tail };
    },
  } satisfies Case<ProbeReply>,
  {
    name: 'fault report',
    size: gen.SIZEOF_VIRTIO_IOMMU_FAULT,
    values: fault,
    generated: { encode: (v, x) => gen.encodeFault(v, x), decode: (v) => gen.decodeFault(v) },
    hand: { encode: hand.encodeFault, decode: hand.decodeFault },
    unchecked: unchecked.fault,
    binaryParser: (b) => bp.fault.parse(b),
  } satisfies Case<Fault>,
] as Case<unknown>[];

/** One buffer per fixture, encoded once, for the decoders. */
function encoded<T>(c: Case<T>): { views: DataView[]; buffers: Uint8Array[] } {
  const buffers = c.values.map(() => new Uint8Array(c.size));
  const views = buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
  c.values.forEach((x, i) => c.generated.encode(views[i], x));
  return { views, buffers };
}

/** The three decoders must agree before they are timed; the hand-written encoder too. */
function verify<T>(c: Case<T>): void {
  const { views, buffers } = encoded(c);
  const same = (a: unknown, b: unknown, what: string) => {
    const show = (x: unknown) =>
      JSON.stringify(x, (_k, v: unknown) =>
        typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v,
      );
    if (show(a) !== show(b)) throw new Error(`${c.name}: ${what} differs:\n${show(a)}\n${show(b)}`);
  };
  views.forEach((v, i) => {
    same(c.generated.decode(v), c.hand.decode(v), 'hand-written decode');
    const mine = new Uint8Array(c.size);
    c.hand.encode(new DataView(mine.buffer), c.values[i]);
    same([...mine], [...buffers[i]], 'hand-written encode');
    const parsed = c.binaryParser(buffers[i]) as never;
    same(
      c.generated.decode(v),
      c.fromBinaryParser ? c.fromBinaryParser(parsed) : parsed,
      'binary-parser decode',
    );
  });
}

const time = Number(process.env.BENCH_TIME_MS ?? 400);
const bench = new Bench({ time, warmup: true, warmupTime: 100 });
for (const c of cases) {
  verify(c);
  const { views, buffers } = encoded(c);
  const target = views.map((v) => new DataView(new ArrayBuffer(v.byteLength)));
  let sink: unknown;
  const batch = (run: (i: number) => unknown) => () => {
    for (let i = 0; i < FIXTURES; i++) sink = run(i);
  };
  bench
    .add(
      `${c.name} | decode | generated`,
      batch((i) => c.generated.decode(views[i])),
    )
    .add(
      `${c.name} | decode | hand-written`,
      batch((i) => c.hand.decode(views[i])),
    )
    .add(
      `${c.name} | decode | binary-parser`,
      batch((i) => c.binaryParser(buffers[i])),
    )
    .add(
      `${c.name} | encode | generated`,
      batch((i) => c.generated.encode(target[i], c.values[i])),
    )
    .add(
      `${c.name} | encode | hand-written`,
      batch((i) => c.hand.encode(target[i], c.values[i])),
    )
    .add(
      `${c.name} | encode | unchecked`,
      batch((i) => c.unchecked(target[i], c.values[i])),
    );
  if (sink === 1) console.log(sink);
}

await bench.run();

const opsPerSecond = new Map(
  bench.tasks.map((t) => [t.name, (t.result?.throughput.mean ?? 0) * FIXTURES]),
);
const rate = (name: string) => opsPerSecond.get(name) ?? 0;
const rows = cases.map((c) => {
  const r = (op: string, impl: string) => rate(`${c.name} | ${op} | ${impl}`);
  const m = (x: number) => (x / 1e6).toFixed(2);
  const ratio = (a: number, b: number) => +(a / b).toFixed(2);
  return {
    struct: c.name,
    'decode Mop/s gen / hand / b-p': `${m(r('decode', 'generated'))} / ${m(r('decode', 'hand-written'))} / ${m(r('decode', 'binary-parser'))}`,
    'encode Mop/s gen / hand / unchecked': `${m(r('encode', 'generated'))} / ${m(r('encode', 'hand-written'))} / ${m(r('encode', 'unchecked'))}`,
    'decode gen÷hand': ratio(r('decode', 'generated'), r('decode', 'hand-written')),
    'encode gen÷hand': ratio(r('encode', 'generated'), r('encode', 'hand-written')),
    'decode gen÷b-p': ratio(r('decode', 'generated'), r('decode', 'binary-parser')),
    'encode gen÷unchecked': ratio(r('encode', 'generated'), r('encode', 'unchecked')),
  };
});
console.log(
  `codecs: ${FIXTURES} seeded fixtures per struct, ${time} ms per task, million operations per second.\n` +
    'Targets: gen÷hand >= 0.9 (hand-written with the same checks), decode gen÷b-p >= 2 (binary-parser cannot encode).\n' +
    'gen÷unchecked: against a hand-written encoder that skips the value checks, for what they cost.',
);
console.table(rows);
