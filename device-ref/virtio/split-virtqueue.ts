// Layer: virtio.
// One split virtqueue (virtio 1.4, "Split Virtqueues"): the driver-written configuration
// (size, the three area addresses, enable) and the device side of the rings: reading the
// available ring, walking chains, writing used elements, notification suppression with and
// without VIRTIO_F_EVENT_IDX. Every guest address is checked against RAM.
//
// Broken chains are returned at once with used length 0 and a finding. A broken ring (an
// area outside RAM, an available index that moved by more than the queue size, a head that
// is not a descriptor index) sets DEVICE_NEEDS_RESET: the device cannot go on safely.

import type { FindingLog } from '../platform/findings.js';
import type { GuestRam } from '../platform/guest-ram.js';
import { hex } from '../hex.js';
import {
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
} from './constants.js';
import { ChainWalk, walkDescriptorChain, type ChainSegment } from './descriptor-walk.js';
import type { DescriptorChain, QueueAccess } from './device-model.js';

/** The device's limit on device-readable bytes in one chain (virtio-iommu requests are tiny). */
export const MAX_READABLE_BYTES = 1 << 20;
/** Bytes per block that copies of device-readable bytes are cut from. */
const COPY_BLOCK_BYTES = 64 * 1024;

/** What a queue needs from its transport. */
export interface QueueHost {
  readonly ram: GuestRam;
  readonly findings: FindingLog;
  /** DRIVER_OK set, DEVICE_NEEDS_RESET clear, bus mastering on. */
  deviceLive(): boolean;
  negotiated(bit: number): boolean;
  needsReset(reason: string): void;
  /** A used buffer notification: sets ISR bit 0. */
  notifyUsed(): void;
}

class PoppedChain implements DescriptorChain {
  pushed = false;
  constructor(
    readonly readable: Uint8Array,
    readonly writableLength: number,
    readonly queue: SplitVirtqueue,
    readonly generation: number,
    readonly head: number,
    /** Where the device-writable part starts, when it is one buffer (a request's tail). */
    readonly writableAddress: number,
    /** The device-writable buffers when there are more than one. */
    readonly scattered: readonly ChainSegment[] | undefined,
  ) {}
}

export class SplitVirtqueue implements QueueAccess {
  readonly index: number;
  readonly maxSize: number;
  readonly #host: QueueHost;
  size: number;
  enabled = false;
  /** queue_desc, queue_driver, queue_device: the descriptor, driver (available) and device (used) areas. */
  desc = 0n;
  driver = 0n;
  device = 0n;
  #lastAvail = 0;
  #usedIdx = 0;
  /** Bumped by every reset, so chains popped before it are recognised and dropped. */
  #generation = 0;
  readonly #copies = new ReadableCopies();
  /** Every pop walks its chain into this one. */
  readonly #walk: ChainWalk;
  readonly #limits = {
    queueSize: 0,
    indirectNegotiated: false,
    maxReadableBytes: MAX_READABLE_BYTES,
  };

  constructor(index: number, maxSize: number, host: QueueHost) {
    this.index = index;
    this.maxSize = maxSize;
    this.size = maxSize;
    this.#host = host;
    this.#walk = new ChainWalk(maxSize);
  }

  /** Device or queue reset: back to the state a driver finds after reset. */
  reset(): void {
    this.size = this.maxSize;
    this.enabled = false;
    this.desc = this.driver = this.device = 0n;
    this.#lastAvail = 0;
    this.#usedIdx = 0;
    this.#generation++;
  }

  /** queue_enable = 1: checks what the driver set up and records what breaks the rules. */
  enable(): void {
    const areas: [string, bigint, number, number][] = [
      ['descriptor area (queue_desc)', this.desc, 16, 16 * this.size],
      ['driver area (queue_driver)', this.driver, 2, 6 + 2 * this.size],
      ['device area (queue_device)', this.device, 4, 6 + 8 * this.size],
    ];
    for (const [name, address, alignment, length] of areas) {
      if (address % BigInt(alignment) !== 0n) {
        this.#finding(`${name} at ${hex(address)} is not ${alignment}-byte aligned`);
      }
      if (!this.#host.ram.contains(address, length)) {
        this.#finding(`${name} ${hex(address)}+${length} is outside RAM`);
      }
    }
    this.enabled = true;
  }

  pop(): DescriptorChain | null {
    const { ram } = this.#host;
    for (;;) {
      if (!this.enabled || !this.#host.deviceLive()) return null;
      if (!ram.contains(this.driver, 6 + 2 * this.size)) {
        this.#host.needsReset(
          `queue ${this.index}: driver area ${hex(this.driver)} is outside RAM`,
        );
        return null;
      }
      const driver = Number(this.driver);
      const availIdx = ram.readU16(driver + 2);
      const pending = (availIdx - this.#lastAvail) & 0xffff;
      if (pending === 0) {
        this.#publishAvailEvent();
        return null;
      }
      if (pending > this.size) {
        this.#host.needsReset(
          `queue ${this.index}: available idx moved from ${this.#lastAvail} to ${availIdx}, more than the queue size ${this.size}`,
        );
        return null;
      }
      const head = ram.readU16(driver + 4 + 2 * (this.#lastAvail % this.size));
      this.#lastAvail = (this.#lastAvail + 1) & 0xffff;
      if (head >= this.size) {
        this.#host.needsReset(
          `queue ${this.index}: available ring entry ${head} is not a descriptor index`,
        );
        return null;
      }
      const limits = this.#limits;
      limits.queueSize = this.size;
      limits.indirectNegotiated = this.#host.negotiated(VIRTIO_F_INDIRECT_DESC);
      const chain = this.#walk;
      const problem = walkDescriptorChain(ram, this.desc, head, limits, chain);
      if (problem !== undefined) {
        this.#finding(`chain at head ${head}: ${problem}; returned with used length 0`);
        this.#addUsed(head, 0);
        continue;
      }
      if (chain.indirectWithoutFeature) {
        this.#finding(
          `chain at head ${head} uses an indirect table but VIRTIO_F_INDIRECT_DESC was not negotiated`,
        );
      }
      this.#publishAvailEvent();
      const writableBuffers = chain.buffers - chain.readableBuffers;
      return new PoppedChain(
        this.#copies.gather(ram, chain),
        chain.writableLength,
        this,
        this.#generation,
        head,
        chain.addresses[chain.readableBuffers] ?? 0,
        writableBuffers > 1 ? writableSegments(chain) : undefined,
      );
    }
  }

  push(chain: DescriptorChain, written: Uint8Array): void {
    if (!(chain instanceof PoppedChain) || chain.queue !== this) {
      throw new RangeError(`push on queue ${this.index}: the chain was not popped from this queue`);
    }
    if (chain.generation !== this.#generation) return;
    if (chain.pushed)
      throw new RangeError(`push on queue ${this.index}: chain ${chain.head} was already pushed`);
    if (written.length > chain.writableLength) {
      throw new RangeError(
        `push on queue ${this.index}: ${written.length} bytes do not fit the ${chain.writableLength} writable bytes`,
      );
    }
    chain.pushed = true;
    if (!this.enabled || !this.#host.deviceLive()) return;
    if (chain.scattered === undefined) {
      if (written.length > 0) this.#host.ram.write(chain.writableAddress, written);
    } else {
      let done = 0;
      for (const segment of chain.scattered) {
        if (done >= written.length) break;
        const count = Math.min(segment.length, written.length - done);
        this.#host.ram.write(segment.address, written.subarray(done, done + count));
        done += count;
      }
    }
    this.#addUsed(chain.head, written.length);
  }

  #addUsed(head: number, length: number): void {
    const { ram } = this.#host;
    if (!ram.contains(this.device, 6 + 8 * this.size)) {
      this.#host.needsReset(`queue ${this.index}: device area ${hex(this.device)} is outside RAM`);
      return;
    }
    const device = Number(this.device);
    const element = device + 4 + 8 * (this.#usedIdx % this.size);
    ram.writeU32(element, head);
    ram.writeU32(element + 4, length);
    const old = this.#usedIdx;
    this.#usedIdx = (old + 1) & 0xffff;
    ram.writeU16(device + 2, this.#usedIdx);
    if (this.#wantsNotification(old, this.#usedIdx)) this.#host.notifyUsed();
  }

  /** "Used Buffer Notification Suppression": the driver area is known to be in RAM here. */
  #wantsNotification(old: number, next: number): boolean {
    const driver = Number(this.driver);
    const { ram } = this.#host;
    if (this.#host.negotiated(VIRTIO_F_EVENT_IDX)) {
      const usedEvent = ram.readU16(driver + 4 + 2 * this.size);
      return ((next - usedEvent - 1) & 0xffff) < ((next - old) & 0xffff);
    }
    return (ram.readU16(driver) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /** With VIRTIO_F_EVENT_IDX, asks for a notification as soon as the driver adds a buffer. */
  #publishAvailEvent(): void {
    if (!this.#host.negotiated(VIRTIO_F_EVENT_IDX)) return;
    if (!this.#host.ram.contains(this.device, 6 + 8 * this.size)) return;
    this.#host.ram.writeU16(Number(this.device) + 4 + 8 * this.size, this.#lastAvail);
  }

  #finding(message: string): void {
    this.#host.findings.add({
      message: `queue ${this.index}: ${message}`,
      detail: { queue: this.index },
    });
  }
}

/**
 * Copies of the device-readable bytes of popped chains, cut one after the other from a block
 * until it is full, then from a new one. A copy is never overwritten, however long a model
 * keeps it; and the requests of one notify share an ArrayBuffer, so the generated codecs
 * decode them all through the same DataView instead of making one per request.
 */
class ReadableCopies {
  #block = new Uint8Array(0);
  #used = 0;

  /** The bytes of the chain's device-readable buffers, in order. */
  gather(ram: GuestRam, chain: ChainWalk): Uint8Array {
    const length = chain.readableLength;
    let bytes: Uint8Array;
    if (length > COPY_BLOCK_BYTES) {
      bytes = new Uint8Array(length);
    } else {
      if (this.#used + length > this.#block.length) {
        this.#block = new Uint8Array(COPY_BLOCK_BYTES);
        this.#used = 0;
      }
      bytes = this.#block.subarray(this.#used, this.#used + length);
      this.#used += length;
    }
    if (chain.readableBuffers === 1) {
      ram.readInto(chain.addresses[0]!, bytes);
      return bytes;
    }
    let done = 0;
    for (let i = 0; i < chain.readableBuffers; i++) {
      const segmentLength = chain.lengths[i]!;
      ram.readInto(chain.addresses[i]!, bytes.subarray(done, done + segmentLength));
      done += segmentLength;
    }
    return bytes;
  }
}

/** The device-writable buffers of a walked chain, copied out of the walk. */
function writableSegments(chain: ChainWalk): ChainSegment[] {
  const segments: ChainSegment[] = [];
  for (let i = chain.readableBuffers; i < chain.buffers; i++) {
    segments.push({ address: chain.addresses[i]!, length: chain.lengths[i]! });
  }
  return segments;
}
