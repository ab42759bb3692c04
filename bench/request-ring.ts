// The cheapest correct way to have a device serve virtio-iommu requests over qtest, for the
// socket benchmark: the device's own cost shows, not the suite's harness. A round of N
// requests is one pipelined burst of qtest commands: the requests and their tails (one
// b64write), their descriptors (one), the available ring entries (one, two on a wrap),
// avail->idx, the notify, then the poll: used->idx, the used ring entries and the tails.
// On a device that handles the notify before the next command (device-ref) that is one
// round trip; where it handles it later (QEMU's main loop) the poll is repeated, without
// sleeping, until used->idx covers the round. The same code drives every target.

import { VIRTQUEUE } from '../dist/ts/index.js';
import {
  encodeRequest,
  type FieldValues,
  type RequestVerb,
} from '../conformance/driver/requests.js';
import type { IommuDriver } from '../conformance/driver/iommu-driver.js';
import type { QtestClient } from '../conformance/qtest/client.js';
import {
  featureBit,
  VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_ACKNOWLEDGE,
  VIRTIO_STATUS_DRIVER,
  VIRTIO_STATUS_FEATURES_OK,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '../conformance/virtio/constants.js';

export interface BenchRequest {
  verb: Exclude<RequestVerb, 'probe'>;
  fields: FieldValues;
}

const QUEUE = VIRTQUEUE.requestq;
const DESC_SIZE = 16;
/** Bytes of guest RAM per request: its device-readable part, then its 4-byte tail. */
const STRIDE = 64;
const TAIL_AT = 48;
const TAIL_SIZE = 4;
/** A tail the device did not write still reads 0xff. */
const UNWRITTEN = 0xff;
/** Polls of used->idx before a round is given up (QEMU answers within a few). */
const MAX_POLLS = 100_000;

export class RequestRing {
  readonly #qtest: QtestClient;
  readonly #size: number;
  readonly #desc: bigint;
  readonly #avail: bigint;
  readonly #used: bigint;
  readonly #data: bigint;
  readonly #notify: bigint;
  #availIdx = 0;
  #usedIdx = 0;

  private constructor(qtest: QtestClient, rings: RingLayout, data: bigint, notify: bigint) {
    this.#qtest = qtest;
    this.#size = rings.size;
    this.#desc = rings.desc;
    this.#avail = rings.driver;
    this.#used = rings.device;
    this.#data = data;
    this.#notify = notify;
  }

  /** The most requests one round can carry: two descriptors each. */
  get capacity(): number {
    return this.#size / 2;
  }

  /**
   * Initializes the device behind `driver` with VERSION_1 and the IOMMU features it offers
   * (reset, features, the request queue at its largest size, DRIVER_OK).
   */
  static async open(driver: IommuDriver): Promise<RequestRing> {
    const { transport, qtest } = driver;
    await transport.reset();
    await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE);
    await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    // Every IOMMU feature offered (bits 0-23 are the device type's), no ring features.
    const deviceTypeBits = (1n << 24n) - 1n;
    await transport.writeDriverFeatures(
      (driver.offered & deviceTypeBits) | featureBit(VIRTIO_F_VERSION_1),
    );
    await transport.addStatus(VIRTIO_STATUS_FEATURES_OK);
    if (((await transport.readStatus()) & VIRTIO_STATUS_FEATURES_OK) === 0) {
      throw new Error('the device refused FEATURES_OK');
    }
    const size = await transport.queueMaxSize(QUEUE);
    const memory = driver.memory.allocate(DESC_SIZE * size + 6 + 2 * size + 4 + 6 + 8 * size);
    const data = driver.memory.allocate((STRIDE * size) / 2);
    await qtest.memset(memory.base, memory.size, 0);
    const rings = ringLayout(memory.base, size);
    await transport.configureQueue(QUEUE, rings);
    await transport.enableQueue(QUEUE);
    await transport.driverOk();
    return new RequestRing(qtest, rings, data.base, transport.notifyAddress(QUEUE));
  }

  /** Makes `requests` available together, notifies once, and returns each one's status. */
  async serve(requests: readonly BenchRequest[]): Promise<number[]> {
    const count = requests.length;
    if (count < 1 || count > this.capacity) {
      throw new RangeError(`a round carries 1 to ${this.capacity} requests, not ${count}`);
    }
    const image = new Uint8Array(STRIDE * count);
    const table = new Uint8Array(2 * DESC_SIZE * count);
    const descriptors = new DataView(table.buffer);
    const heads: number[] = [];
    requests.forEach(({ verb, fields }, j) => {
      const { readable } = encodeRequest(verb, fields, 0);
      image.set(readable, STRIDE * j);
      image.fill(UNWRITTEN, STRIDE * j + TAIL_AT, STRIDE * j + TAIL_AT + TAIL_SIZE);
      const at = this.#data + BigInt(STRIDE * j);
      const d = 2 * DESC_SIZE * j;
      descriptors.setBigUint64(d, at, true);
      descriptors.setUint32(d + 8, readable.length, true);
      descriptors.setUint16(d + 12, VIRTQ_DESC_F_NEXT, true);
      descriptors.setUint16(d + 14, 2 * j + 1, true);
      descriptors.setBigUint64(d + DESC_SIZE, at + BigInt(TAIL_AT), true);
      descriptors.setUint32(d + DESC_SIZE + 8, TAIL_SIZE, true);
      descriptors.setUint16(d + DESC_SIZE + 12, VIRTQ_DESC_F_WRITE, true);
      heads.push(2 * j);
    });

    const q = this.#qtest;
    const sent: Promise<unknown>[] = [
      q.memwrite(this.#data, image),
      q.memwrite(this.#desc, table),
      ...this.#ringRuns(this.#availIdx, count).map(({ slot, from, length }) => {
        const entries = new Uint8Array(2 * length);
        const view = new DataView(entries.buffer);
        for (let k = 0; k < length; k++) view.setUint16(2 * k, heads[from + k]!, true);
        return q.memwrite(this.#avail + BigInt(4 + 2 * slot), entries);
      }),
    ];
    this.#availIdx = (this.#availIdx + count) & 0xffff;
    sent.push(q.writew(this.#avail + 2n, this.#availIdx), q.writew(this.#notify, QUEUE));
    const target = (this.#usedIdx + count) & 0xffff;
    for (let poll = 0; poll < MAX_POLLS; poll++) {
      const usedIdx = q.readw(this.#used + 2n);
      const used = this.#ringRuns(this.#usedIdx, count).map(({ slot, length }) =>
        q.memread(this.#used + BigInt(4 + 8 * slot), 8 * length),
      );
      const tails = q.memread(this.#data, STRIDE * count);
      const [idx, usedRuns, replies] = await Promise.all([usedIdx, Promise.all(used), tails]);
      await Promise.all(sent);
      if (idx !== target) {
        const moved = (idx - this.#usedIdx) & 0xffff;
        if (moved > count) throw new Error(`used->idx moved by ${moved} for ${count} requests`);
        continue;
      }
      this.#usedIdx = target;
      return this.#statuses(heads, usedRuns, replies);
    }
    throw new Error(`the device returned ${count} requests within ${MAX_POLLS} polls`);
  }

  /**
   * The ring entries of a round of `count` from ring index `index`, as runs that do not wrap:
   * where each run starts in the ring, and which requests of the round it holds.
   */
  #ringRuns(index: number, count: number): { slot: number; from: number; length: number }[] {
    const slot = index % this.#size;
    const first = Math.min(count, this.#size - slot);
    return first === count
      ? [{ slot, from: 0, length: count }]
      : [
          { slot, from: 0, length: first },
          { slot: 0, from: first, length: count - first },
        ];
  }

  #statuses(heads: number[], usedRuns: Uint8Array[], replies: Uint8Array): number[] {
    const used = new Map<number, number>();
    for (const run of usedRuns) {
      const view = new DataView(run.buffer, run.byteOffset, run.length);
      for (let at = 0; at < run.length; at += 8) {
        used.set(view.getUint32(at, true), view.getUint32(at + 4, true));
      }
    }
    return heads.map((head, j) => {
      const length = used.get(head);
      if (length !== TAIL_SIZE) {
        throw new Error(`request ${j} (head ${head}) came back with used length ${length}`);
      }
      return replies[STRIDE * j + TAIL_AT]!;
    });
  }
}

interface RingLayout {
  size: number;
  desc: bigint;
  driver: bigint;
  device: bigint;
}

/** The split-ring areas back to back from `base`: descriptors, available ring, used ring. */
function ringLayout(base: bigint, size: number): RingLayout {
  const driver = base + BigInt(DESC_SIZE * size);
  const device = (driver + BigInt(6 + 2 * size) + 3n) & ~3n;
  return { size, desc: base, driver, device };
}
