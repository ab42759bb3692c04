// A split virtqueue, driver side (virtio 1.4, "Split Virtqueues"), where the test decides
// how a request is laid out in descriptors (descriptor-chain.ts).
//
// Posting writes the descriptors, the avail ring entry, the request's slot and avail->idx,
// all pipelined; descriptors and avail ring entries that already hold what they would be
// given are not written again. submit() sends the notify and a first look at the used
// ring behind them in the same pipeline: one round trip for a device that has handled the
// queue by the time it answers the notify (device-ref; QEMU 7.2 under TCG, where virtio-pci
// has no ioeventfd: measured, `used->idx` had always moved). A device that works later is
// waited for in its own time (qtest/device-clock.ts): stepped where its clock can be, else
// polled.
//
// The request slots follow the used ring, so one read from `used->idx` to the end of the last
// outstanding slot returns the index, the used elements and every reply at once. That read
// also shows the device-readable bytes of every returned slot (its readable segments and
// indirect table): each must still hold what the driver wrote (dev.vq.readable-untouched); a
// change is a RingFinding on the host. A small first slot lies between the used ring and the
// avail ring, and a request in it is laid out to end where the avail ring starts, so one
// write carries the request, the ring's flags and its idx: a lone request costs 3 commands
// (that write, the notify, the read), not 4. It is small because that read runs through it.
//
//   desc table | used ring | first slot (request at its end) | avail ring | the other slots

import type { GuestRegion } from '../memory/guest-memory.js';
import type { QtestClient } from '../qtest/client.js';
import { deviceClock } from '../qtest/device-clock.js';
import {
  descriptorCount,
  layOutChain,
  slotImageLength,
  type VirtqueueRequest,
} from './descriptor-chain.js';
import { align, DESC_SIZE, ringLayout, type QueueAddresses } from './split-ring.js';

// The queue's API speaks of these; they are defined with the layout and the ring.
export type { DescriptorLayout, Segment, VirtqueueRequest } from './descriptor-chain.js';
export type { QueueAddresses } from './split-ring.js';

export interface UsedBuffer {
  /** The head descriptor index the device returned. */
  head: number;
  /** `len` of the used ring element: what the device says it wrote. */
  usedLen: number;
  /** The device-writable segments read back after completion, concatenated in order. */
  writtenBytes: Uint8Array;
  request: VirtqueueRequest;
}

/** A device-readable byte of a returned buffer that no longer holds what the driver wrote. */
export interface RingFinding {
  message: string;
  /** The buffer's device-readable bytes as the driver wrote them (its readable segments, in order). */
  written: Uint8Array;
  /** The same bytes as read back once the device returned the buffer. */
  found: Uint8Array;
}

/** What the queue needs from a transport (VirtioPciTransport provides it). */
export interface VirtqueueHost {
  readonly qtest: QtestClient;
  /** Where the queue records a device-readable buffer the device wrote to; absent: not checked. */
  readonly ringFindings?: RingFinding[];
  queueMaxSize(index: number): Promise<number>;
  configureQueue(index: number, queue: QueueAddresses): Promise<void>;
  enableQueue(index: number): Promise<void>;
  notify(index: number): Promise<void>;
}

export interface SplitVirtqueueOptions {
  /** Queue size to program; default: the device's maximum. Must be a power of two. */
  size?: number;
  /** Bytes of guest RAM per in-flight request (segments + indirect table). Default 4096. */
  slotSize?: number;
  /** Initial content of length-only device-writable segments. Default 0xff. */
  writableFill?: number;
  /** How long submit()/waitUsed() wait for the device. Default 2000 ms. */
  timeoutMs?: number;
}

export class VirtqueueError extends Error {
  override name = 'VirtqueueError';
}

/** The driver side ran out of descriptors or request slots: the suite's own limit, not the device's. */
export class VirtqueueFullError extends VirtqueueError {
  override name = 'VirtqueueFullError';
}

const DEFAULT_SLOT_SIZE = 4096;
const DEFAULT_TIMEOUT_MS = 2000;
/** Zeroed before the queue's size is known: the rings of a queue of 256 (the largest here). */
const RINGS_MAX = DESC_SIZE * 256 + 6 + 2 * 256 + 2 + 6 + 8 * 256;
/** Bytes of avail->flags and avail->idx, which the first slot's write carries. */
const AVAIL_HEAD = 4;
/**
 * The most the first slot holds: every request of the spec but PROBE fits, direct or
 * indirect, and the harvest read, which runs from the used ring through the first slot,
 * stays short. A larger request takes one of the other slots.
 */
const FIRST_SLOT_MAX = 128;
/** The most one look at the used ring reads (index, elements and the replies behind them). */
const HARVEST_READ_MAX = 0x1_0000;

interface Posted {
  request: VirtqueueRequest;
  descriptors: number[];
  /** Which slot: the first (before the avail ring), or the index of one after it. */
  slot: 'first' | number;
  /** Where the request's image starts (the first slot's ends at the avail ring). */
  address: number;
  /** [offset in slot, length] of each device-writable segment. */
  writable: Array<[number, number]>;
  imageLength: number;
  /** The slot as written: its device-readable parts must read back the same. */
  image: Uint8Array;
  /** Whether the whole slot is one device-writable buffer (layout 'single'). */
  allWritable: boolean;
}

/** A request placed in the queue, not yet written: what its writes must put where. */
interface Placed {
  head: number;
  descriptors: number[];
  /** Its descriptor table entries, DESC_SIZE bytes each, in the order of `descriptors`. */
  table: Uint8Array;
  image: Uint8Array;
  address: number;
  /** In the first slot: the bytes from its start to the avail ring; else 0. */
  room: number;
}

/** A used element taken from the ring: its buffer and where that buffer's slot starts. */
interface Returned {
  head: number;
  usedLen: number;
  posted: Posted;
  /** Where the slot starts, from the used ring's start. */
  offset: number;
}

export class SplitVirtqueue {
  readonly timeoutMs: number;
  readonly #host: VirtqueueHost;
  readonly #qtest: QtestClient;
  /**
   * The rings' addresses and where the slots after the avail ring start (the first slot ends
   * at the avail ring), as numbers: the queue's memory lies below 2^53 (create() checks), so
   * posting and harvesting need no BigInt arithmetic.
   */
  readonly #desc: number;
  readonly #driver: number;
  readonly #device: number;
  readonly #slotBase: number;
  readonly #slotSize: number;
  readonly #firstSlotSize: number;
  #firstSlotFree = true;
  readonly #writableFill: number;
  readonly #freeDescriptors: number[];
  readonly #freeSlots: number[];
  readonly #posted = new Map<number, Posted>();
  /** Used buffers harvested but not yet claimed by submit() or handed out by collectUsed(). */
  readonly #unclaimed: UsedBuffer[] = [];
  #availIdx = 0;
  /** avail->flags, as this queue last wrote it (the first slot's write carries it). */
  #availFlags = 0;
  #lastUsedIdx = 0;
  #harvesting: Promise<void> | undefined;
  /** What each descriptor table entry holds, as this queue last wrote it (all zero at first). */
  readonly #descriptorImage: Uint8Array;
  /** What each avail ring entry holds, as this queue last wrote it. */
  readonly #availRing: Uint16Array;
  /** Where the first slot's write (request, avail->flags, avail->idx) is put together. */
  readonly #firstSlotWrite: Buffer;

  private constructor(
    host: VirtqueueHost,
    readonly index: number,
    readonly addresses: QueueAddresses,
    slots: GuestRegion,
    options: SplitVirtqueueOptions,
  ) {
    this.#host = host;
    this.#qtest = host.qtest;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#slotSize = options.slotSize ?? DEFAULT_SLOT_SIZE;
    this.#firstSlotSize = firstSlotSize(this.#slotSize);
    this.#desc = Number(addresses.desc);
    this.#driver = Number(addresses.driver);
    this.#device = Number(addresses.device);
    this.#slotBase = Number(slots.base);
    this.#writableFill = options.writableFill ?? 0xff;
    this.#freeDescriptors = countdown(addresses.size);
    this.#freeSlots = countdown(Math.floor(slots.size / this.#slotSize));
    this.#descriptorImage = new Uint8Array(DESC_SIZE * addresses.size);
    this.#availRing = new Uint16Array(addresses.size);
    this.#firstSlotWrite = Buffer.alloc(this.#firstSlotSize + AVAIL_HEAD);
  }

  /**
   * Lays the rings out at the start of `memory` (zeroed), the request slots after them,
   * programs the queue into the device and enables it.
   */
  static async create(
    host: VirtqueueHost,
    index: number,
    memory: GuestRegion,
    options: SplitVirtqueueOptions = {},
  ): Promise<SplitVirtqueue> {
    const slotSize = options.slotSize ?? DEFAULT_SLOT_SIZE;
    if (slotSize < DESC_SIZE || slotSize % DESC_SIZE !== 0) {
      throw new RangeError(`slot size ${slotSize} is not a multiple of ${DESC_SIZE}`);
    }
    if (memory.base + BigInt(memory.size) > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(
        `queue ${index}: memory at 0x${memory.base.toString(16)} ends above 2^53`,
      );
    }
    // The rings (and the first slot between them) are zeroed while the queue's size is asked
    // for (one pipeline).
    const ringsMax = RINGS_MAX + firstSlotSize(slotSize);
    const zeroed = host.qtest.memset(memory.base, Math.min(memory.size, ringsMax), 0);
    const max = await host.queueMaxSize(index);
    await zeroed;
    if (max === 0) throw new VirtqueueError(`queue ${index} is not available (queue_size 0)`);
    const size = options.size ?? max;
    if (size < 1 || size > max || (size & (size - 1)) !== 0) {
      throw new RangeError(`queue ${index}: size ${size} is not a power of two within 1..${max}`);
    }
    // Descriptor table, used ring, the first slot, avail ring; the other slots behind it
    // (16-byte aligned, for indirect tables).
    const { addresses, end: ringEnd } = ringLayout(memory.base, size, firstSlotSize(slotSize));
    const desc = addresses.desc;
    const slotsBase = align(ringEnd, BigInt(DESC_SIZE));
    const slotsSize = Number(memory.base + BigInt(memory.size) - slotsBase);
    if (slotsSize < slotSize) {
      throw new RangeError(
        `queue ${index}: 0x${memory.size.toString(16)} bytes of memory leave no room for a request slot`,
      );
    }
    if (Number(ringEnd - desc) > ringsMax) await host.qtest.memset(desc, Number(ringEnd - desc), 0);
    await Promise.all([host.configureQueue(index, addresses), host.enableQueue(index)]);
    return new SplitVirtqueue(
      host,
      index,
      addresses,
      { base: slotsBase, size: slotsSize },
      options,
    );
  }

  /** Buffers posted and not yet returned by the device. */
  get outstanding(): number {
    return this.#posted.size;
  }

  /** Writes a request into the queue and makes it available, without notifying. */
  async post(request: VirtqueueRequest): Promise<number> {
    const writes: Array<Promise<unknown>> = [];
    const [head] = this.#post([request], writes);
    await Promise.all(writes);
    return head!;
  }

  /**
   * post() for several requests: the same writes put together, one per run of adjacent table
   * entries, avail ring entries and slots, and avail->idx written once, last. Returns their
   * heads in order. A request that does not fit throws; those before it are posted.
   */
  async postAll(requests: readonly VirtqueueRequest[]): Promise<number[]> {
    const writes: Array<Promise<unknown>> = [];
    let heads: number[];
    try {
      heads = this.#post(requests, writes);
    } catch (error) {
      await Promise.allSettled(writes);
      throw error;
    }
    await Promise.all(writes);
    return heads;
  }

  /**
   * Places `requests` in the queue and issues the writes that make them available (all in
   * this tick, so they leave pipelined with whatever follows), adds their promises to
   * `writes`, and returns their heads at once. A request that does not fit throws, once the
   * ones before it are written.
   */
  #post(requests: readonly VirtqueueRequest[], writes: Array<Promise<unknown>>): number[] {
    const placed: Placed[] = [];
    try {
      for (const request of requests) placed.push(this.#place(request));
    } finally {
      if (placed.length > 0) this.#write(placed, writes);
    }
    return placed.map(({ head }) => head);
  }

  /** Takes descriptors and a slot for `request` and lays it out; nothing written yet. */
  #place(request: VirtqueueRequest): Placed {
    const count = descriptorCount(request);
    if (count === 0) throw new RangeError('a direct request needs at least one segment');
    if (count > this.#freeDescriptors.length) {
      throw new VirtqueueFullError(
        `queue ${this.index}: ${count} descriptors needed, ${this.#freeDescriptors.length} free`,
      );
    }
    const imageLength = slotImageLength(request);
    if (imageLength > this.#slotSize) {
      throw new RangeError(
        `request of ${imageLength} bytes exceeds the ${this.#slotSize}-byte slot`,
      );
    }
    // In the first slot the request ends at the avail ring (its start 16-byte aligned).
    const imageRoom = (imageLength + DESC_SIZE - 1) & -DESC_SIZE;
    const slot =
      this.#firstSlotFree && imageRoom <= this.#firstSlotSize ? 'first' : this.#freeSlots.pop();
    if (slot === undefined)
      throw new VirtqueueFullError(`queue ${this.index}: no free request slot`);
    if (slot === 'first') this.#firstSlotFree = false;
    const address =
      slot === 'first' ? this.#driver - imageRoom : this.#slotBase + slot * this.#slotSize;
    const descriptors = this.#freeDescriptors.splice(-count).reverse();
    const { image, table, writable } = layOutChain(
      request,
      address,
      descriptors,
      this.#writableFill,
    );
    const head = descriptors[0]!;
    const allWritable = request.layout === 'single' && writable.length > 0;
    this.#posted.set(head, {
      request,
      descriptors,
      slot,
      address,
      writable,
      imageLength,
      image,
      allWritable,
    });
    return { head, descriptors, table, image, address, room: slot === 'first' ? imageRoom : 0 };
  }

  /**
   * The writes that make `placed` available, in the order the device may rely on: the table
   * entries that change, the avail ring entries that change, the slots, then avail->idx
   * (carried by the first slot's write when a request is in it). Adjacent entries and slots
   * go in one write each; entries that already hold what they would be given are not written
   * (nor are the ones between them, which might hide a device's write to them).
   */
  #write(placed: readonly Placed[], writes: Array<Promise<unknown>>): void {
    const qtest = this.#qtest;
    const size = this.addresses.size;
    const entries: number[] = [];
    for (const { descriptors, table } of placed) {
      for (let i = 0; i < descriptors.length; i++) {
        const descriptor = descriptors[i]!;
        if (this.#holds(descriptor, table, DESC_SIZE * i)) continue;
        this.#descriptorImage.set(
          table.subarray(DESC_SIZE * i, DESC_SIZE * (i + 1)),
          DESC_SIZE * descriptor,
        );
        entries.push(descriptor);
      }
    }
    for (const [first, last] of runs(entries.sort((a, b) => a - b))) {
      const bytes = this.#descriptorImage.subarray(DESC_SIZE * first, DESC_SIZE * (last + 1));
      writes.push(qtest.memwrite(this.#desc + DESC_SIZE * first, bytes));
    }
    // avail->ring[idx % size] = head for each, in order (a run ends where the ring wraps).
    entries.length = 0;
    for (const { head } of placed) {
      const entry = this.#availIdx % size;
      if (this.#availRing[entry] !== head) {
        this.#availRing[entry] = head;
        entries.push(entry);
      }
      this.#availIdx = (this.#availIdx + 1) & 0xffff;
    }
    for (const [first, last] of runs(entries)) {
      const at = this.#driver + 4 + 2 * first;
      if (first === last) {
        writes.push(qtest.writew(at, this.#availRing[first]!));
        continue;
      }
      const bytes = new Uint8Array(2 * (last - first + 1));
      for (let entry = first; entry <= last; entry++) {
        bytes[2 * (entry - first)] = this.#availRing[entry]! & 0xff;
        bytes[2 * (entry - first) + 1] = this.#availRing[entry]! >>> 8;
      }
      writes.push(qtest.memwrite(at, bytes));
    }
    // The slots after the avail ring, adjacent images in one write.
    const slots = placed.filter(({ room }) => room === 0).sort((a, b) => a.address - b.address);
    for (let i = 0; i < slots.length;) {
      let end = i + 1;
      while (
        end < slots.length &&
        slots[end]!.address === slots[end - 1]!.address + slots[end - 1]!.image.length
      )
        end++;
      const run = slots.slice(i, end);
      const bytes = run.length === 1 ? run[0]!.image : concat(run.map(({ image }) => image));
      writes.push(qtest.memwrite(run[0]!.address, bytes));
      i = end;
    }
    const first = placed.find(({ room }) => room !== 0);
    if (first === undefined) {
      writes.push(qtest.writew(this.#driver + 2, this.#availIdx));
      return;
    }
    // One write: the request, the padding up to the avail ring, avail->flags, avail->idx,
    // put together in the queue's scratch buffer and sent as base64 text at once.
    const { image, room } = first;
    const bytes = this.#firstSlotWrite;
    bytes.set(image);
    bytes.fill(0, image.length, room);
    bytes[room] = this.#availFlags & 0xff;
    bytes[room + 1] = this.#availFlags >>> 8;
    bytes[room + 2] = this.#availIdx & 0xff;
    bytes[room + 3] = this.#availIdx >>> 8;
    const length = room + AVAIL_HEAD;
    writes.push(qtest.memwriteBase64(first.address, length, bytes.toString('base64', 0, length)));
  }

  /** Whether table entry `descriptor` already holds the DESC_SIZE bytes of `bytes` from `from`. */
  #holds(descriptor: number, bytes: Uint8Array, from: number): boolean {
    const held = this.#descriptorImage;
    const at = DESC_SIZE * descriptor;
    for (let i = 0; i < DESC_SIZE; i++) if (held[at + i] !== bytes[from + i]) return false;
    return true;
  }

  /** Writes avail->flags; the queue keeps it, since the first slot's write carries it too. */
  async writeAvailFlags(flags: number): Promise<void> {
    this.#availFlags = flags;
    await this.#qtest.writew(this.addresses.driver, flags);
  }

  notify(): Promise<void> {
    return this.#host.notify(this.index);
  }

  /**
   * post(), notify(), then wait until the device returns this request. The first look at the
   * used ring goes out with the writes and the notify: one round trip when the device has
   * handled the request by the time it answers the notify.
   */
  async submit(request: VirtqueueRequest): Promise<UsedBuffer> {
    const pipeline: Array<Promise<unknown>> = [];
    const [head] = this.#post([request], pipeline);
    pipeline.push(this.notify(), this.#harvest());
    await Promise.all(pipeline);
    const used = this.#claim(head!);
    if (used !== undefined) return used;
    const clock = await deviceClock(this.#qtest);
    return clock.waitFor(
      async () => {
        await this.#harvest();
        return this.#claim(head!);
      },
      { timeoutMs: this.timeoutMs, what: `queue ${this.index} to return descriptor ${head}` },
    );
  }

  /**
   * submit() for several requests at once: every post, one notify and the first look at the
   * used ring in one pipeline; waits until the device returns all of them, and gives their used
   * buffers in the order of `requests`. A request that does not fit fails the whole: those
   * posted before it are still announced (the device sees them), then the error is thrown.
   */
  async submitAll(requests: readonly VirtqueueRequest[]): Promise<UsedBuffer[]> {
    const pipeline: Array<Promise<unknown>> = [];
    let heads: number[];
    try {
      heads = this.#post(requests, pipeline);
    } catch (error) {
      pipeline.push(this.notify());
      await Promise.allSettled(pipeline);
      throw error;
    }
    pipeline.push(this.notify(), this.#harvest());
    await Promise.all(pipeline);
    const used: Array<UsedBuffer | undefined> = heads.map(() => undefined);
    const claimAll = (): UsedBuffer[] | undefined => {
      let all = true;
      heads.forEach((head, i) => {
        used[i] ??= this.#claim(head);
        all &&= used[i] !== undefined;
      });
      return all ? (used as UsedBuffer[]) : undefined;
    };
    const returned = claimAll();
    if (returned !== undefined) return returned;
    const clock = await deviceClock(this.#qtest);
    return clock.waitFor(
      async () => {
        await this.#harvest();
        return claimAll();
      },
      { timeoutMs: this.timeoutMs, what: `queue ${this.index} to return ${heads.length} buffers` },
    );
  }

  /** Takes the harvested buffer of `head`, if it has come back. */
  #claim(head: number): UsedBuffer | undefined {
    const unclaimed = this.#unclaimed;
    for (let i = 0; i < unclaimed.length; i++) {
      if (unclaimed[i]!.head === head) return unclaimed.splice(i, 1)[0];
    }
    return undefined;
  }

  /** Every buffer the device has returned since the last call (without waiting). */
  async collectUsed(): Promise<UsedBuffer[]> {
    await this.#harvest();
    return this.#unclaimed.splice(0);
  }

  /**
   * Waits until at least `count` buffers are returned (`timeoutMs` of the device's time), and
   * returns all returned so far.
   */
  async waitUsed(count = 1, timeoutMs = this.timeoutMs): Promise<UsedBuffer[]> {
    const clock = await deviceClock(this.#qtest);
    await clock.waitFor(
      async () => {
        await this.#harvest();
        return this.#unclaimed.length >= count ? true : undefined;
      },
      { timeoutMs, what: `queue ${this.index} to return ${count} buffer(s)` },
    );
    return this.#unclaimed.splice(0);
  }

  /**
   * dev.vq.readable-untouched for the driver's own rings: reads the descriptor table and the
   * available ring (its index and entries; flags and used_event are left to whoever wrote
   * them) and describes every place that no longer holds what this queue wrote there.
   */
  async driverRingChanges(): Promise<string[]> {
    const { desc, driver, size } = this.addresses;
    const [table, avail] = await Promise.all([
      this.#qtest.memread(desc, DESC_SIZE * size),
      this.#qtest.memread(driver + 2n, 2 + 2 * size),
    ]);
    const changes: string[] = [];
    for (let entry = 0; entry < size; entry++) {
      const at = DESC_SIZE * entry;
      for (let i = 0; i < DESC_SIZE; i++) {
        if (table[at + i] === this.#descriptorImage[at + i]) continue;
        const shown = (bytes: Uint8Array): string =>
          Buffer.from(bytes.subarray(at, at + DESC_SIZE)).toString('hex');
        changes.push(
          `descriptor table entry ${entry} reads ${shown(table)}, the driver wrote ${shown(this.#descriptorImage)}`,
        );
        break;
      }
    }
    const idx = avail[0]! | (avail[1]! << 8);
    if (idx !== this.#availIdx)
      changes.push(`avail->idx reads ${idx}, the driver wrote ${this.#availIdx}`);
    for (let entry = 0; entry < size; entry++) {
      const value = avail[2 + 2 * entry]! | (avail[3 + 2 * entry]! << 8);
      if (value !== this.#availRing[entry])
        changes.push(
          `avail->ring[${entry}] reads ${value}, the driver wrote ${this.#availRing[entry]}`,
        );
    }
    return changes;
  }

  /** Reads new used ring entries; one harvest at a time so no entry is read twice. */
  #harvest(): Promise<void> {
    if (this.#harvesting !== undefined) return this.#harvesting;
    const ringEnd = 4 + 8 * this.addresses.size; // offset of used->avail_event from `device`
    let end = ringEnd;
    for (const posted of this.#posted.values()) {
      end = Math.max(end, this.#slotOffset(posted) + posted.imageLength);
    }
    if (end > HARVEST_READ_MAX) end = ringEnd;
    const done = (): void => {
      this.#harvesting = undefined;
    };
    this.#harvesting = this.#qtest.memread(this.#device + 2, end - 2).then(
      (seen) => {
        let more: Promise<void> | undefined;
        try {
          more = this.#takeUsed(seen, end);
        } finally {
          if (more === undefined) done();
        }
        return more?.finally(done);
      },
      (error: unknown) => {
        done();
        throw error;
      },
    );
    return this.#harvesting;
  }

  /**
   * Takes what one read from used->idx on shows: the index, every used element, and (when
   * they lie within HARVEST_READ_MAX, `end` bytes from the used ring's start) the slots of all
   * outstanding buffers. The device writes a buffer and its element before it moves the
   * index, and qtest reads memory in address order, so what an index shows as used is
   * complete in the same read. A returned slot the read did not reach is read now (all of them
   * in one pipeline): then the promise of that.
   */
  #takeUsed(seen: Uint8Array, end: number): Promise<void> | undefined {
    // `seen[k]` is the byte at `device + 2 + k`.
    const size = this.addresses.size;
    const usedIdx = seen[0]! | (seen[1]! << 8);
    const count = (usedIdx - this.#lastUsedIdx) & 0xffff;
    if (count === 0) return undefined;
    if (count > this.#posted.size) {
      throw new VirtqueueError(
        `queue ${this.index}: used->idx moved by ${count} with only ${this.#posted.size} buffers outstanding`,
      );
    }
    const returned: Returned[] = [];
    let beyond = false;
    for (let i = 0; i < count; i++) {
      const at = 2 + 8 * ((this.#lastUsedIdx + i) % size);
      const head = readU32(seen, at);
      const usedLen = readU32(seen, at + 4);
      const posted = this.#posted.get(head);
      if (posted === undefined) {
        throw new VirtqueueError(
          `queue ${this.index}: device returned id ${head}, which is not outstanding`,
        );
      }
      this.#posted.delete(head);
      const offset = this.#slotOffset(posted);
      beyond ||= offset + posted.imageLength > end;
      returned.push({ head, usedLen, posted, offset });
    }
    this.#lastUsedIdx = usedIdx;
    // The usual case, every slot within the read: nothing more to wait for.
    if (!beyond) {
      for (const buffer of returned) {
        const from = buffer.offset - 2;
        this.#returned(buffer, seen.subarray(from, from + buffer.posted.imageLength));
      }
      return undefined;
    }
    return Promise.all(
      returned.map(({ posted, offset }) =>
        offset + posted.imageLength <= end
          ? seen.subarray(offset - 2, offset - 2 + posted.imageLength)
          : this.#qtest.memread(this.#device + offset, posted.imageLength),
      ),
    ).then((images) => returned.forEach((buffer, i) => this.#returned(buffer, images[i]!)));
  }

  /** A buffer the device returned, its slot read back as `image`: checked, freed, unclaimed. */
  #returned({ head, usedLen, posted }: Returned, image: Uint8Array): void {
    if (!posted.allWritable) this.#checkReadable(head, posted, image);
    // Back in reverse, so the next request of the same shape gets the same chain (and
    // finds its descriptors already written).
    for (let d = posted.descriptors.length - 1; d >= 0; d--) {
      this.#freeDescriptors.push(posted.descriptors[d]!);
    }
    if (posted.slot === 'first') this.#firstSlotFree = true;
    else this.#freeSlots.push(posted.slot);
    this.#unclaimed.push({
      head,
      usedLen,
      writtenBytes: writableBytes(image, posted.writable),
      request: posted.request,
    });
  }

  /**
   * dev.vq.readable-untouched: every byte of the slot outside its device-writable segments
   * (readable segments, indirect table) reads back as the driver wrote it.
   */
  #checkReadable(head: number, posted: Posted, image: Uint8Array): void {
    const findings = this.#host.ringFindings;
    if (findings === undefined) return;
    let writable = 0;
    for (let at = 0; at < image.length; at++) {
      const range = posted.writable[writable];
      if (range !== undefined && at >= range[0]) {
        at = range[0] + range[1] - 1;
        writable++;
        continue;
      }
      if (image[at] === posted.image[at]) continue;
      const changed = changedRanges(posted.image, image, posted.writable);
      findings.push({
        message: `queue ${this.index}: the device wrote to the device-readable part of the buffer at head ${head} (slot bytes ${changed}, ${posted.request.layout ?? 'direct'} layout)`,
        written: readableBytes(posted.image, posted.writable),
        found: readableBytes(image, posted.writable),
      });
      return;
    }
  }

  /** Where a posted buffer's image starts, from the used ring's start. */
  #slotOffset(posted: Posted): number {
    return posted.address - this.#device;
  }
}

/** The runs of consecutive numbers in `sorted`, as [first, last]. */
function runs(sorted: readonly number[]): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  for (const n of sorted) {
    const run = found[found.length - 1];
    if (run !== undefined && n === run[1] + 1) run[1] = n;
    else found.push([n, n]);
  }
  return found;
}

/** `parts` one after another in one array. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/** `count - 1` down to 0: a free list that hands out 0 first. */
function countdown(count: number): number[] {
  const list: number[] = [];
  for (let i = count - 1; i >= 0; i--) list.push(i);
  return list;
}

/** Bytes of the first slot of a queue whose slots hold `slotSize` bytes. */
function firstSlotSize(slotSize: number): number {
  return Math.min(slotSize, FIRST_SLOT_MAX);
}

function readU32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
  );
}

/** The bytes of a slot's image outside its device-writable segments, concatenated. */
function readableBytes(image: Uint8Array, writable: ReadonlyArray<[number, number]>): Uint8Array {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const [offset, length] of writable) {
    parts.push(image.subarray(from, offset));
    from = offset + length;
  }
  parts.push(image.subarray(from));
  return concat(parts);
}

/** `[a, b)` ranges (hex, slot offsets) where `found` differs from `written` outside `writable`. */
function changedRanges(
  written: Uint8Array,
  found: Uint8Array,
  writable: ReadonlyArray<[number, number]>,
): string {
  const inWritable = (at: number): boolean =>
    writable.some(([offset, length]) => at >= offset && at < offset + length);
  const ranges: string[] = [];
  let start = -1;
  for (let at = 0; at <= written.length; at++) {
    const differs = at < written.length && !inWritable(at) && written[at] !== found[at];
    if (differs && start === -1) start = at;
    if (!differs && start !== -1) {
      ranges.push(`0x${start.toString(16)}-0x${(at - 1).toString(16)}`);
      start = -1;
    }
  }
  return ranges.join(', ');
}

/** The device-writable segments of a slot's image, concatenated, in a buffer of their own. */
function writableBytes(image: Uint8Array, writable: ReadonlyArray<[number, number]>): Uint8Array {
  if (writable.length === 1) {
    const [offset, length] = writable[0]!;
    return image.slice(offset, offset + length);
  }
  return concat(writable.map(([offset, length]) => image.subarray(offset, offset + length)));
}
