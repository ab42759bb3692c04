// Encode and decode throughput of the generated codecs (dist/ts) against a hand-written
// DataView codec for the same structs and against binary-parser, on seeded fixtures: ATTACH,
// MAP and UNMAP requests, a PROBE reply with its properties, and the fault report.
// Run: npm run bench (or node build/bench/codecs.bench.js). binary-parser only decodes.

import { Bench } from 'tinybench';
import * as gen from '../dist/ts/index.js';
import type {
  AttachRequest,
  Fault,
  MapRequest,
  ProbePropertyEntry,
  UnmapRequest,
} from '../dist/ts/index.js';
import { bp, type BpProbe } from './codecs/binary-parser-codec.js';
import {
  attach,
  fault,
  FIXTURES,
  map,
  PROBE_SIZE,
  probe,
  unmap,
  type DecodedProbeReply,
  type ProbeReply,
} from './codecs/fixtures.js';
import { hand, unchecked } from './codecs/hand-codec.js';

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
