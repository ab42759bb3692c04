// Throughput of the reference device's IOMMU core (device-ref/iommu): MAP+UNMAP pairs in a
// domain that holds 1,000 and then 1,000,000 live mappings (the ratio of the two shows the
// O(log n) of the mapping tree), the same pairs as request bytes through the dispatcher
// (decode, handler, tail), and DMA translations. Seeded: every run measures the same work.
// Then a whole board behind the qtest dispatcher, without a socket: MAP/UNMAP rounds of 1 and
// of 64 requests per notify, each round the qtest lines the socket benchmark sends, so the
// ratio is what batching saves device-ref per request.
// Run: npm run bench (or node build/bench/device-core.bench.js).

import { Bench } from 'tinybench';
import {
  encodeAttachDriverPart,
  encodeMapDriverPart,
  encodeUnmapDriverPart,
  SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_UNMAP_DRIVER_PART,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_T_ATTACH,
  VIRTIO_IOMMU_T_MAP,
  VIRTIO_IOMMU_T_UNMAP,
  type MapDriverPart,
  type UnmapDriverPart,
} from '../dist/ts/index.js';
import { handleMap } from '../device-ref/iommu/map.js';
import { handleUnmap } from '../device-ref/iommu/unmap.js';
import {
  createVirtioIommu,
  DEVICE_LIMITS,
  type VirtioIommu,
} from '../device-ref/iommu/virtio-iommu.js';
import type { QueueAccess, VirtioDeviceContext } from '../device-ref/virtio/device-model.js';
import { QtestBoard } from './qtest-board.js';
import { seededRandom } from './seeded-random.js';

const ENDPOINT = 0x10;
const RW = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
const RAM = 0x1_0000_0000n;
/** Fixtures per task: each timed call runs this many operations. */
const BATCH = 1024;

/** No queue is ever used: every translation below succeeds, so no fault is reported. */
const idleQueue: QueueAccess = { pop: () => null, push: () => {} };
const context: VirtioDeviceContext = {
  queue: () => idleQueue,
  configChanged: () => {},
  needsReset: () => {},
};

const head = (type: number) => ({ type, reserved: new Uint8Array(3) });
const page = (n: number): bigint => BigInt(n) << 12n;

/** A device whose domain 1 holds `live` mappings, one on every even page from 0. */
function deviceWith(live: number): VirtioIommu {
  const device = createVirtioIommu(
    context,
    {
      ...DEVICE_LIMITS,
      maxMappings: 2 * live + BATCH,
      endpoints: [{ id: ENDPOINT }],
      features: 1n << BigInt(VIRTIO_IOMMU_F_MAP_UNMAP),
      pageSizeMask: 0xfffn ^ 0xffff_ffff_ffff_ffffn,
      inputRange: { start: 0n, end: 0xffff_ffff_ffff_ffffn },
      domainRange: { start: 0, end: 0xffff_ffff },
      probeSize: 0,
      bypass: 0,
    },
    () => {},
  );
  device.featuresAccepted(device.offeredFeatures());
  const endpoint = device.core.endpoints.get(ENDPOINT)!;
  device.core.attach(endpoint, 1, false);
  for (let i = 0; i < live; i++) {
    const status = handleMap(device.core, {
      head: head(VIRTIO_IOMMU_T_MAP),
      domain: 1,
      virt_start: page(2 * i),
      virt_end: page(2 * i + 1) - 1n,
      phys_start: RAM + page(2 * i),
      flags: RW,
    });
    if (status !== VIRTIO_IOMMU_S_OK) throw new Error(`preloading mapping ${i}: status ${status}`);
  }
  return device;
}

interface Pair {
  map: MapDriverPart;
  unmap: UnmapDriverPart;
  mapBytes: Uint8Array;
  unmapBytes: Uint8Array;
}

/** MAP and UNMAP of one odd page, between live mappings, at seeded places. */
function pairs(live: number, seed: number): Pair[] {
  const next = seededRandom(seed);
  return Array.from({ length: BATCH }, () => {
    const n = 2 * Math.floor(next() * live) + 1;
    const map = {
      head: head(VIRTIO_IOMMU_T_MAP),
      domain: 1,
      virt_start: page(n),
      virt_end: page(n + 1) - 1n,
      phys_start: RAM + page(n),
      flags: RW,
    };
    const unmap = {
      head: head(VIRTIO_IOMMU_T_UNMAP),
      domain: 1,
      virt_start: page(n),
      virt_end: page(n + 1) - 1n,
      reserved: new Uint8Array(4),
    };
    const mapBytes = new Uint8Array(SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART);
    const unmapBytes = new Uint8Array(SIZEOF_VIRTIO_IOMMU_REQ_UNMAP_DRIVER_PART);
    encodeMapDriverPart(mapBytes, map);
    encodeUnmapDriverPart(unmapBytes, unmap);
    return { map, unmap, mapBytes, unmapBytes };
  });
}

/** Addresses inside live mappings, at seeded places. */
function addresses(live: number, seed: number): bigint[] {
  const next = seededRandom(seed);
  return Array.from(
    { length: BATCH },
    () => page(2 * Math.floor(next() * live)) + BigInt(Math.floor(next() * 0xfc0)),
  );
}

const time = Number(process.env.BENCH_TIME_MS ?? 400);
const bench = new Bench({ time, warmup: true, warmupTime: 100 });
const SIZES = [1_000, 1_000_000];

for (const live of SIZES) {
  const started = performance.now();
  const device = deviceWith(live);
  const load = performance.now() - started;
  const work = pairs(live, live);
  const where = addresses(live, live + 1);
  const check = (status: number) => {
    if (status !== VIRTIO_IOMMU_S_OK) throw new Error(`status ${status}`);
  };
  bench
    .add(`MAP+UNMAP | handlers | ${live}`, () => {
      for (const pair of work) {
        check(handleMap(device.core, pair.map));
        check(handleUnmap(device.core, pair.unmap));
      }
    })
    .add(`MAP+UNMAP | request bytes | ${live}`, () => {
      for (const pair of work) {
        check(device.serve({ readable: pair.mapBytes, writableLength: 4 })[0]!);
        check(device.serve({ readable: pair.unmapBytes, writableLength: 4 })[0]!);
      }
    })
    .add(`translate | ${live}`, () => {
      for (const address of where) {
        if (!device.translate(ENDPOINT, address, 64, 'read').ok)
          throw new Error(`no translation at ${address}`);
      }
    });
  console.log(
    `device-core: ${live} mappings loaded in ${(load / 1000).toFixed(2)} s (${((live / load) * 1000).toFixed(0)} MAP requests/s into a growing domain)`,
  );
}

/** MAP and UNMAP of page i / 2 of 4096, alternating, in domain 1: every one succeeds. */
const roundRequests = Array.from({ length: 2 * 4096 }, (_, i) => {
  const virt_start = page(i >> 1);
  const virt_end = page((i >> 1) + 1) - 1n;
  if (i % 2 === 1) {
    const bytes = new Uint8Array(SIZEOF_VIRTIO_IOMMU_REQ_UNMAP_DRIVER_PART);
    const unmap = { head: head(VIRTIO_IOMMU_T_UNMAP), domain: 1, virt_start, virt_end };
    encodeUnmapDriverPart(bytes, { ...unmap, reserved: new Uint8Array(4) });
    return bytes;
  }
  const bytes = new Uint8Array(SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART);
  const map = { head: head(VIRTIO_IOMMU_T_MAP), domain: 1, virt_start, virt_end, flags: RW };
  encodeMapDriverPart(bytes, { ...map, phys_start: RAM + virt_start });
  return bytes;
});
const PER_NOTIFY = [1, 64];
const roundBench = new Bench({ time, warmup: true, warmupTime: 100 });
for (const perNotify of PER_NOTIFY) {
  const board = new QtestBoard();
  const attach = new Uint8Array(SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART);
  encodeAttachDriverPart(attach, {
    head: head(VIRTIO_IOMMU_T_ATTACH),
    domain: 1,
    endpoint: board.board.endpoints[0]!.devfn,
    flags: 0,
    reserved: new Uint8Array(4),
  });
  if (QtestBoard.status(board.serve(board.round([attach])), 0) !== VIRTIO_IOMMU_S_OK)
    throw new Error('qtest board: ATTACH failed');
  let next = 0;
  // Made before each timed call (untimed), checked after it: the call times device-ref only.
  let rounds: string[][] = [];
  const replies: string[] = [];
  roundBench.add(
    `qtest rounds | ${perNotify}/notify`,
    () => {
      for (const lines of rounds) replies.push(board.serve(lines));
    },
    {
      beforeEach() {
        rounds = [];
        replies.length = 0;
        for (let done = 0; done < BATCH; done += perNotify) {
          rounds.push(board.round(roundRequests.slice(next, next + perNotify)));
          next = (next + perNotify) % roundRequests.length;
        }
      },
      afterEach() {
        for (const reply of replies) {
          for (let j = 0; j < perNotify; j++) {
            if (QtestBoard.status(reply, j) !== VIRTIO_IOMMU_S_OK)
              throw new Error(`qtest board: request ${j} of a round failed`);
          }
        }
      },
    },
  );
}

await bench.run();
await roundBench.run();

const rate = (name: string) =>
  (bench.tasks.find((t) => t.name === name)?.result?.throughput.mean ?? 0) * BATCH;
const k = (x: number) => `${(x / 1000).toFixed(0)} k/s`;
const rows = ['MAP+UNMAP | handlers', 'MAP+UNMAP | request bytes', 'translate'].map((task) => {
  const [small, big] = SIZES.map((live) => rate(`${task} | ${live}`)) as [number, number];
  return {
    task,
    '1,000 live': k(small),
    '1,000,000 live': k(big),
    '1k ÷ 1M': +(small / big).toFixed(2),
  };
});
console.log(
  `device-core: ${BATCH} seeded operations per timed call, ${time} ms per task; MAP+UNMAP counts pairs.\n` +
    'For O(log n), 1k ÷ 1M is near log(10^6) ÷ log(10^3) = 2, plus cache misses; O(n) would show about 1000.',
);
console.table(rows);

const perRequest = PER_NOTIFY.map(
  (perNotify) =>
    (roundBench.tasks.find((t) => t.name === `qtest rounds | ${perNotify}/notify`)?.result
      ?.throughput.mean ?? 0) * BATCH,
);
const [lone, batched] = perRequest as [number, number];
console.log(
  `device-core: a q35 board behind the qtest dispatcher, no socket, ${BATCH} MAP/UNMAP requests per timed call:\n` +
    PER_NOTIFY.map((n, i) => `  ${n}/notify: ${k(perRequest[i]!)} requests`).join('\n') +
    `\n  a request costs device-ref ${(batched / lone).toFixed(1)}x less in a round of 64 than alone ` +
    `(the socket benchmark holds the target: 64/notify ≥10x 1/notify)`,
);
