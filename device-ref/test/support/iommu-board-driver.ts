// A driver of the IOMMU on a real board (q35 layout: virtio-iommu at 00:01.0, edu at
// 00:02.0), driven by qtest command lines as a conformance client would: BARs, feature
// negotiation, split virtqueues for requests and events, and edu DMA.

import assert from 'node:assert/strict';
import {
  encodeAttachDriverPart,
  encodeMapDriverPart,
  encodeProbeDriverPart,
  SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART,
  STRUCT_LAYOUTS,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_T_ATTACH,
  VIRTIO_IOMMU_T_MAP,
  VIRTIO_IOMMU_T_PROBE,
} from '../../../dist/ts/index.js';
import { createBoard, type Board } from '../../board/board.js';
import { loadBoardDescription } from '../../board/description.js';
import { createIommuModel } from '../../board/iommu-model.js';
import { executeCommandLine } from '../../qtest/dispatch.js';
import { ALL_FEATURES, encoded } from '../iommu-harness.js';
import { CC } from './driver.js';

export const IOMMU_SLOT = 1;
export const EDU_SLOT = 2;
export const EDU_ENDPOINT = EDU_SLOT << 3;
export const VIRTIO_BAR = 0xe000_0000n;
export const EDU_BAR = 0xe100_0000n;
// virtio-pci common configuration (CC), ISR at +0x1000, device config at +0x2000, notify at
// +0x3000 (queue i at +4i): where the board's transport puts them in BAR 4.
export const DEVICE_CFG = 0x2000n;
const NOTIFY = 0x3000n;
const F_NEXT = 1;
const F_WRITE = 2;
const EDU = { src: 0x80, dst: 0x88, cnt: 0x90, cmd: 0x98 };
/** Where a field of struct virtio_iommu_config lies, as the driver addresses it in BAR 4. */
export function iommuConfigAddress(field: string): bigint {
  const layout = STRUCT_LAYOUTS.virtio_iommu_config.fields[field];
  if (layout === undefined) throw new Error(`struct virtio_iommu_config has no field ${field}`);
  return VIRTIO_BAR + DEVICE_CFG + BigInt(layout.offset);
}
export const head = (type: number) => ({ type, reserved: new Uint8Array(3) });

/** A driver of one virtqueue, rings at `base`: descriptors, avail at +0x1000, used at +0x2000. */
class Ring {
  #avail = 0;
  #used = 0;

  constructor(
    readonly driver: IommuBoardDriver,
    readonly index: number,
    readonly size: number,
    readonly base: bigint,
  ) {}

  /** Clears the rings (a device reset, or a system reset, starts them over) and enables the queue. */
  setUp(): void {
    const d = this.driver;
    this.#avail = 0;
    this.#used = 0;
    d.line(`memset ${this.base} 0x3000 0`);
    d.write(VIRTIO_BAR + BigInt(CC.queue_select), 2, this.index);
    d.write(VIRTIO_BAR + BigInt(CC.queue_size), 2, this.size);
    for (const [offset, at] of [
      [CC.queue_desc, this.base],
      [CC.queue_driver, this.base + 0x1000n],
      [CC.queue_device, this.base + 0x2000n],
    ] as const) {
      d.write(VIRTIO_BAR + BigInt(offset), 4, at & 0xffff_ffffn);
      d.write(VIRTIO_BAR + BigInt(offset + 4), 4, at >> 32n);
    }
    d.write(VIRTIO_BAR + BigInt(CC.queue_enable), 2, 1);
  }

  /** Makes a chain of buffers available (writable ones flagged) and notifies the device. */
  offer(buffers: { addr: bigint; len: number; writable: boolean }[]): void {
    const first = (this.#avail * 4) % this.size;
    buffers.forEach((b, i) => {
      const at = this.base + BigInt(16 * (first + i));
      const next = i + 1 < buffers.length;
      this.driver.write(at, 8, b.addr);
      this.driver.write(at + 8n, 4, b.len);
      this.driver.write(at + 12n, 2, (next ? F_NEXT : 0) | (b.writable ? F_WRITE : 0));
      this.driver.write(at + 14n, 2, next ? first + i + 1 : 0);
    });
    const avail = this.base + 0x1000n;
    this.driver.write(avail + BigInt(4 + 2 * (this.#avail % this.size)), 2, first);
    this.#avail++;
    this.driver.write(avail + 2n, 2, this.#avail);
    this.driver.write(VIRTIO_BAR + NOTIFY + BigInt(4 * this.index), 2, this.index);
  }

  /** The used lengths the device returned since the last call. */
  takeUsed(): number[] {
    const used = this.base + 0x2000n;
    const idx = Number(this.driver.read(used + 2n, 2));
    const lengths: number[] = [];
    for (; this.#used !== idx; this.#used = (this.#used + 1) & 0xffff) {
      lengths.push(
        Number(this.driver.read(used + 4n + BigInt(8 * (this.#used % this.size)) + 4n, 4)),
      );
    }
    return lengths;
  }
}

export class IommuBoardDriver {
  readonly board: Board;
  readonly requests = new Ring(this, 0, 16, 0x10_0000n);
  readonly events = new Ring(this, 1, 8, 0x11_0000n);

  /** A fresh board from a preset name or file. */
  constructor(boardName = 'q35') {
    this.board = createBoard(loadBoardDescription(boardName), { iommuModel: createIommuModel });
  }

  line(text: string): string {
    const reply = executeCommandLine(this.board, text);
    if (!reply.startsWith('OK')) throw new Error(`${text} → ${reply}`);
    return reply;
  }

  read(address: bigint, size: 1 | 2 | 4 | 8): bigint {
    return BigInt(this.line(`read${{ 1: 'b', 2: 'w', 4: 'l', 8: 'q' }[size]} ${address}`).slice(3));
  }

  write(address: bigint, size: 1 | 2 | 4 | 8, value: number | bigint): void {
    this.line(`write${{ 1: 'b', 2: 'w', 4: 'l', 8: 'q' }[size]} ${address} ${value}`);
  }

  bytes(address: bigint, length: number): Uint8Array {
    return new Uint8Array(Buffer.from(this.line(`read ${address} ${length}`).slice(5), 'hex'));
  }

  put(address: bigint, data: Uint8Array): void {
    this.line(`write ${address} ${data.length} 0x${Buffer.from(data).toString('hex')}`);
  }

  configWrite(slot: number, offset: number, size: 2 | 4, value: number): void {
    this.line(`outl 0xcf8 ${0x8000_0000 | (slot << 11) | (offset & 0xfc)}`);
    this.line(`out${size === 2 ? 'w' : 'l'} ${0xcfc + (offset & 3)} ${value}`);
  }

  /** BARs, bus mastering, features, both queues, DRIVER_OK. */
  start(features: number): void {
    this.configWrite(IOMMU_SLOT, 0x20, 4, Number(VIRTIO_BAR));
    this.configWrite(IOMMU_SLOT, 0x24, 4, 0);
    this.configWrite(IOMMU_SLOT, 0x04, 2, 0x6);
    this.configWrite(EDU_SLOT, 0x10, 4, Number(EDU_BAR));
    this.configWrite(EDU_SLOT, 0x04, 2, 0x6);
    const status = VIRTIO_BAR + BigInt(CC.device_status);
    for (const value of [0, 1, 3]) this.write(status, 1, value);
    this.write(VIRTIO_BAR + BigInt(CC.driver_feature_select), 4, 0);
    this.write(VIRTIO_BAR + BigInt(CC.driver_feature), 4, features);
    this.write(VIRTIO_BAR + BigInt(CC.driver_feature_select), 4, 1);
    this.write(VIRTIO_BAR + BigInt(CC.driver_feature), 4, 1); // VIRTIO_F_VERSION_1
    this.write(status, 1, 0xb);
    assert.equal(this.read(status, 1), 0xbn, 'FEATURES_OK');
    this.requests.setUp();
    this.events.setUp();
    this.write(status, 1, 0xf);
  }

  /** Sends a request: readable part at 0x120000, writable part at 0x130000; returns used length and the writable bytes. */
  request(readable: Uint8Array, writable: number): { used: number; reply: Uint8Array } {
    this.put(0x12_0000n, readable);
    this.line(`memset 0x130000 ${writable} 0xee`);
    this.requests.offer([
      { addr: 0x12_0000n, len: readable.length, writable: false },
      { addr: 0x13_0000n, len: writable, writable: true },
    ]);
    const [used] = this.requests.takeUsed();
    return { used: used!, reply: this.bytes(0x13_0000n, writable) };
  }

  /** ATTACH; the status the device wrote. */
  attach(domain: number, endpoint: number, flags = 0): number {
    return this.request(
      encoded(SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART, encodeAttachDriverPart, {
        head: head(VIRTIO_IOMMU_T_ATTACH),
        domain,
        endpoint,
        flags,
        reserved: new Uint8Array(4),
      }),
      4,
    ).reply[0]!;
  }

  /** MAP of [virt_start, virt_end] to phys_start, read and write by default; the status. */
  map(
    domain: number,
    virt_start: bigint,
    virt_end: bigint,
    phys_start: bigint,
    flags = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE,
  ): number {
    return this.request(
      encoded(SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART, encodeMapDriverPart, {
        head: head(VIRTIO_IOMMU_T_MAP),
        domain,
        virt_start,
        virt_end,
        phys_start,
        flags,
      }),
      4,
    ).reply[0]!;
  }

  /** PROBE with a buffer of `probeSize` bytes of properties; the writable part (properties, tail). */
  probe(endpoint: number, probeSize: number): Uint8Array {
    return this.request(
      encoded(SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART, encodeProbeDriverPart, {
        head: head(VIRTIO_IOMMU_T_PROBE),
        endpoint,
        reserved: new Uint8Array(64),
      }),
      probeSize + 4,
    ).reply;
  }

  /** Lets the edu endpoint copy `count` bytes from I/O virtual address `iova` into its buffer. */
  eduRead(iova: bigint, count: number): void {
    this.write(EDU_BAR + BigInt(EDU.src), 8, iova);
    this.write(EDU_BAR + BigInt(EDU.dst), 8, 0x40000);
    this.write(EDU_BAR + BigInt(EDU.cnt), 8, count);
    this.write(EDU_BAR + BigInt(EDU.cmd), 4, 1);
    this.line('clock_step 100000000');
  }

  /** And back from its buffer to `iova`. */
  eduWrite(iova: bigint, count: number): void {
    this.write(EDU_BAR + BigInt(EDU.src), 8, 0x40000);
    this.write(EDU_BAR + BigInt(EDU.dst), 8, iova);
    this.write(EDU_BAR + BigInt(EDU.cnt), 8, count);
    this.write(EDU_BAR + BigInt(EDU.cmd), 4, 3);
    this.line('clock_step 100000000');
  }
}

/** Every device-type feature the presets offer. */
export const ALL = Number(ALL_FEATURES);
