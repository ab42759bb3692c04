// The virtio-iommu driver of the suite: finds the device and its endpoints on the PCI bus,
// negotiates features, keeps the event queue filled, and sends typed requests whose bytes
// come from the generated codecs (dist/ts). It judges nothing: callers compare what it
// returns with what the spec asks.

import {
  DEVICE_ID,
  FEATURE_BITS,
  SIZEOF_VIRTIO_IOMMU_FAULT,
  VIRTQUEUE,
  decodeFault,
  type Config,
  type Fault,
} from '../../dist/ts/index.js';
import { EDU_DEVICE_ID, EDU_VENDOR_ID, EduDevice } from '../edu/edu.js';
import type { GuestMemory, GuestRegion } from '../memory/guest-memory.js';
import { PciBus } from '../pci/bus.js';
import type { PciFunction } from '../pci/enumerate.js';
import type { QtestClient } from '../qtest/client.js';
import { PollTimeoutError } from '../qtest/poll.js';
import {
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  VIRTIO_PCI_MODERN_DEVICE_ID_BASE,
  VIRTIO_PCI_VENDOR_ID,
  VIRTIO_STATUS_ACKNOWLEDGE,
  VIRTIO_STATUS_DRIVER,
  VIRTIO_STATUS_DRIVER_OK,
  VIRTIO_STATUS_FAILED,
  VIRTIO_STATUS_FEATURES_OK,
  featureBit,
} from '../virtio/constants.js';
import { VirtioPciTransport } from '../virtio/pci-transport.js';
import {
  SplitVirtqueue,
  type DescriptorLayout,
  type Segment,
  type UsedBuffer,
} from '../virtio/split-virtqueue.js';
import { readDeviceConfig, writeConfigField } from './device-config.js';
import { readQueueEnablesThenReset } from './power-on.js';
import {
  requestResult,
  ringFinding,
  tailFinding,
  type ReplyFinding,
  type RequestResult,
} from './replies.js';
import { encodeRequest, type RequestVerb, type FieldValues } from './requests.js';

/** Every IOMMU feature bit of the spec: the driver knows these. */
export const KNOWN_IOMMU_FEATURES: bigint = Object.values(FEATURE_BITS).reduce(
  (bits, bit) => bits | featureBit(bit),
  0n,
);

/** Feature bits the driver adds to (`accept`) or removes from (`decline`) its usual set. */
export interface FeatureChoice {
  accept?: bigint;
  decline?: bigint;
}

/** The event buffers start() posts, and keeps posting as the device uses them. */
export interface EventBuffers {
  count: number;
  size: number;
}

export type { ReplyFinding, RequestResult };

/** How a typed request is laid out in descriptors (default: one per part, direct). */
export interface RequestLayout {
  /** Lengths of the device-writable descriptors, which must add up to the writable part. */
  writable?: readonly number[];
  layout?: DescriptorLayout;
}

export interface EventReport {
  usedLen: number;
  bytes: Uint8Array;
  /** Decoded when the device wrote at least a whole fault record. */
  fault: Fault | undefined;
}

const QUEUE_SIZE = 64;
const REQUEST_SLOT = 0x1000;
const EVENT_BUFFER_SIZE = 64;
const EVENT_BUFFERS = 32;
/**
 * Each queue's memory: its rings (under 2 KiB for 64 entries) and a slot per entry, no more
 * (the suite's RAM is small, as the DMA judge reads all of a device-ref's RAM back).
 */
const REQUEST_QUEUE_MEMORY = 0x800 + QUEUE_SIZE * REQUEST_SLOT;
const EVENT_QUEUE_MEMORY = 0x800 + QUEUE_SIZE * EVENT_BUFFER_SIZE;

export class DeviceSetupError extends Error {
  override name = 'DeviceSetupError';
}

/**
 * One virtio-iommu function on one target. open() finds it and the edu endpoints; start()
 * initializes it (reset, features, both queues, DRIVER_OK) and may be called again to reset.
 */
export class IommuDriver {
  #requestq: SplitVirtqueue | undefined;
  #eventq: SplitVirtqueue | undefined;
  /**
   * The queues' memory, allocated by the first start() and reused by every later one: the
   * device was reset in between and forgot the old queues, and a test that restarts the
   * device often must not run out of guest RAM.
   */
  #queueMemory: { requestq: GuestRegion; eventq: GuestRegion } | undefined;
  #accepted = 0n;
  #choice: FeatureChoice = {};
  #events: EventBuffers = { count: EVENT_BUFFERS, size: EVENT_BUFFER_SIZE };
  readonly #findings: ReplyFinding[] = [];

  private constructor(
    readonly qtest: QtestClient,
    readonly transport: VirtioPciTransport,
    readonly functions: readonly PciFunction[],
    /** Every edu function, in bus order: endpoints with a DMA engine. */
    readonly edus: readonly EduDevice[],
    /** Feature bits the device offers. */
    readonly offered: bigint,
    readonly memory: GuestMemory,
    /** Every queue's queue_enable before open()'s reset: the device's power-on state. */
    readonly powerOnQueueEnables: readonly number[],
  ) {}

  static async open(qtest: QtestClient, memory: GuestMemory): Promise<IommuDriver> {
    const bus = new PciBus(qtest);
    const functions = await bus.enumerate();
    const iommuId = VIRTIO_PCI_MODERN_DEVICE_ID_BASE + DEVICE_ID;
    const iommu = functions.find(
      (fn) => fn.vendorId === VIRTIO_PCI_VENDOR_ID && fn.deviceId === iommuId,
    );
    if (iommu === undefined) {
      const seen = functions.map((fn) => hex4(fn.vendorId) + ':' + hex4(fn.deviceId)).join(', ');
      throw new DeviceSetupError(
        `no virtio-iommu (${hex4(VIRTIO_PCI_VENDOR_ID)}:${hex4(iommuId)}) on bus 0; found ${seen || 'nothing'}`,
      );
    }
    const edus = functions.filter(
      (fn) => fn.vendorId === EDU_VENDOR_ID && fn.deviceId === EDU_DEVICE_ID,
    );
    // Set up side by side: a few round trips for every function instead of a few each.
    const [iommuDevice, ...eduDevices] = await bus.setUpAll([iommu, ...edus]);
    const transport = await VirtioPciTransport.open(iommuDevice!);
    const endpoints = eduDevices.map((device) => new EduDevice(device));
    const powerOnQueueEnables = await readQueueEnablesThenReset(transport);
    const offered = await transport.deviceFeatures();
    return new IommuDriver(
      qtest,
      transport,
      functions,
      endpoints,
      offered,
      memory,
      powerOnQueueEnables,
    );
  }

  /** The first edu: the endpoint `@ep`. */
  get edu(): EduDevice | undefined {
    return this.edus[0];
  }

  /** Requester IDs of every edu function, in bus order. */
  get eduEndpoints(): number[] {
    return this.edus.map((edu) => edu.endpointId);
  }

  /**
   * What the replies of every typed request so far broke (dev.req.tail-reserved), and what
   * the device wrote to device-readable buffers of any queue on the transport
   * (dev.vq.readable-untouched).
   */
  get replyFindings(): readonly ReplyFinding[] {
    const ring = this.transport.ringFindings;
    if (ring.length === 0) return this.#findings;
    return [...this.#findings, ...ring.map(ringFinding)];
  }

  /** Feature bits accepted by the last start(). */
  get accepted(): bigint {
    return this.#accepted;
  }

  has(bit: number): boolean {
    return (this.#accepted & featureBit(bit)) !== 0n;
  }

  /**
   * Resets the device and initializes it: accepts every offered IOMMU feature the driver
   * knows, minus `decline`, plus `accept` (even if not offered: the device may then refuse
   * FEATURES_OK, which is an error here), and VERSION_1. Sets up both queues, DRIVER_OK,
   * and fills the event queue.
   */
  async start(
    choice: FeatureChoice = this.#choice,
    events: EventBuffers = this.#events,
  ): Promise<void> {
    this.#choice = choice;
    this.#events = events;
    const transport = this.transport;
    await transport.reset();
    // Writes whose replies nothing waits for leave in one pipeline with the read that follows
    // them (qtest keeps their order): seven round trips for the whole start, not fourteen.
    const acknowledged = transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE);
    const driver = transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    const version1 = featureBit(VIRTIO_F_VERSION_1);
    if ((this.offered & version1) === 0n) {
      await Promise.all([acknowledged, driver]);
      await transport.addStatus(VIRTIO_STATUS_FAILED);
      throw new DeviceSetupError(
        `the device offers features ${hex(this.offered)} without VERSION_1`,
      );
    }
    // Indirect descriptors, where offered: batches and some layout tests use them, and a driver
    // may set VIRTQ_DESC_F_INDIRECT only once VIRTIO_F_INDIRECT_DESC is negotiated.
    const indirect = this.offered & featureBit(VIRTIO_F_INDIRECT_DESC) & ~(choice.decline ?? 0n);
    const accepted =
      (this.offered & KNOWN_IOMMU_FEATURES & ~(choice.decline ?? 0n)) |
      (choice.accept ?? 0n) |
      indirect |
      version1;
    // FEATURES_OK on top of the status read after the features are written, then read back.
    const [, , , driverStatus] = await Promise.all([
      acknowledged,
      driver,
      transport.writeDriverFeatures(accepted),
      transport.readStatus(),
    ]);
    const [, status] = await Promise.all([
      transport.writeStatus(driverStatus | VIRTIO_STATUS_FEATURES_OK),
      transport.readStatus(),
    ]);
    if ((status & VIRTIO_STATUS_FEATURES_OK) === 0) {
      await transport.addStatus(VIRTIO_STATUS_FAILED);
      throw new DeviceSetupError(
        `the device cleared FEATURES_OK (status ${hex(status)}) for features ${hex(accepted)} (offered ${hex(this.offered)})`,
      );
    }
    this.#accepted = accepted;
    const queueMemory = (this.#queueMemory ??= {
      requestq: this.memory.allocate(REQUEST_QUEUE_MEMORY),
      eventq: this.memory.allocate(EVENT_QUEUE_MEMORY),
    });
    // Both queues side by side: each step of each queue selects its queue in the same
    // pipeline as its accesses, so the two never mix.
    [this.#requestq, this.#eventq] = await Promise.all([
      SplitVirtqueue.create(transport, VIRTQUEUE.requestq, queueMemory.requestq, {
        size: QUEUE_SIZE,
        slotSize: REQUEST_SLOT,
      }),
      SplitVirtqueue.create(transport, VIRTQUEUE.eventq, queueMemory.eventq, {
        size: QUEUE_SIZE,
        slotSize: EVENT_BUFFER_SIZE,
      }),
    ]);
    // DRIVER_OK, then the event buffers and their notify in the same pipeline.
    const live = (await transport.readStatus()) | VIRTIO_STATUS_DRIVER_OK;
    await Promise.all([
      transport.writeStatus(live),
      this.postEventBuffers(events.count, events.size),
    ]);
  }

  /** Posts `count` event buffers of `size` bytes and notifies the event queue. */
  async postEventBuffers(count: number, size = this.#events.size): Promise<void> {
    const eventq = this.#queue(this.#eventq);
    // The posts (their writes put together) and the notify leave in one pipeline (qtest keeps
    // their order).
    await Promise.all([
      eventq.postAll(
        Array.from({ length: count }, () => ({ segments: [{ writable: true, length: size }] })),
      ),
      eventq.notify(),
    ]);
  }

  /** Event buffers the device has returned so far (each replaced by a fresh one). */
  async collectEvents(): Promise<EventReport[]> {
    return this.#refill(await this.#queue(this.#eventq).collectUsed());
  }

  /** Waits up to `timeoutMs` for at least `count` event buffers; returns [] on time-out. */
  async waitEvents(count: number, timeoutMs: number): Promise<EventReport[]> {
    const eventq = this.#queue(this.#eventq);
    try {
      return this.#refill(await eventq.waitUsed(count, timeoutMs));
    } catch (error) {
      if (!(error instanceof PollTimeoutError)) throw error;
      return this.collectEvents();
    }
  }

  /**
   * A typed request: fields by path (`head.type`, `reserved`), the rest zero. Its tail is
   * checked on the way (see replyFindings).
   */
  async request(
    verb: RequestVerb,
    fields: FieldValues = {},
    shape: RequestLayout = {},
  ): Promise<RequestResult> {
    const probeSize = verb === 'probe' ? (await this.readConfig()).probe_size : 0;
    const { readable, writableLength } = encodeRequest(verb, fields, probeSize);
    const pieces = shape.writable ?? [writableLength];
    if (pieces.reduce((sum, n) => sum + n, 0) !== writableLength || pieces.some((n) => n < 1)) {
      throw new RangeError(
        `${verb.toUpperCase()}: writable descriptors of ${pieces.join('+')} bytes do not make up its ${writableLength}-byte device-writable part`,
      );
    }
    const result = await this.#submit(readable, pieces, shape.layout ?? 'direct');
    this.#checkTail(result);
    return result;
  }

  /** Sends raw device-readable bytes with `writableLength` bytes of room for the reply. */
  async requestBytes(
    readable: Uint8Array,
    writableLength: number,
    layout: DescriptorLayout = 'direct',
  ): Promise<RequestResult> {
    return this.#submit(readable, writableLength > 0 ? [writableLength] : [], layout);
  }

  async #submit(
    readable: Uint8Array,
    writable: readonly number[],
    layout: DescriptorLayout,
  ): Promise<RequestResult> {
    const segments: Segment[] = [{ writable: false, bytes: readable }];
    let writableLength = 0;
    for (const length of writable) {
      segments.push({ writable: true, length });
      writableLength += length;
    }
    const used = await this.#queue(this.#requestq).submit({ segments, layout });
    return requestResult(readable, writableLength, used);
  }

  /** dev.req.tail-reserved, on every reply whose tail the device wrote, whatever its status. */
  #checkTail(result: RequestResult): void {
    const finding = tailFinding(result);
    if (finding !== undefined) this.#findings.push(finding);
  }

  /**
   * Several typed requests made available together and announced with one notify (each in an
   * indirect table where VIRTIO_F_INDIRECT_DESC is negotiated, so that a batch can fill the
   * queue; else a chain of two descriptors); the replies come back in order.
   */
  async requestBatch(
    requests: readonly { verb: Exclude<RequestVerb, 'probe'>; fields?: FieldValues }[],
  ): Promise<RequestResult[]> {
    const requestq = this.#queue(this.#requestq);
    const encoded = requests.map(({ verb, fields }) => encodeRequest(verb, fields ?? {}, 0));
    const layout = this.has(VIRTIO_F_INDIRECT_DESC) ? 'indirect' : 'direct';
    // Every post, the notify and the first look at the used ring leave in one pipeline.
    const used = await requestq.submitAll(
      encoded.map(({ readable, writableLength }) => ({
        segments: [
          { writable: false, bytes: readable },
          { writable: true, length: writableLength },
        ],
        layout,
      })),
    );
    return encoded.map(({ readable, writableLength }, i) => {
      const result = requestResult(readable, writableLength, used[i]!);
      this.#checkTail(result);
      return result;
    });
  }

  /** The whole device configuration, read at the widths virtio-pci asks for and decoded. */
  readConfig(): Promise<Config> {
    return readDeviceConfig(this.transport);
  }

  /**
   * Writes one configuration field given by its dotted path. Where the field sits and how
   * wide it is comes from the generated field layouts.
   */
  async writeConfig(path: string, value: bigint): Promise<void> {
    const view = this.transport.deviceConfig;
    if (view === undefined) throw new DeviceSetupError('the device has no device configuration');
    await writeConfigField(view, path, value);
  }

  #queue(queue: SplitVirtqueue | undefined): SplitVirtqueue {
    if (queue === undefined) throw new DeviceSetupError('the driver has not started the device');
    return queue;
  }

  async #refill(used: UsedBuffer[]): Promise<EventReport[]> {
    if (used.length > 0) await this.postEventBuffers(used.length);
    return used.map((buffer) => ({
      usedLen: buffer.usedLen,
      bytes: buffer.writtenBytes,
      fault:
        buffer.usedLen >= SIZEOF_VIRTIO_IOMMU_FAULT ? decodeFault(buffer.writtenBytes) : undefined,
    }));
  }
}

function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}
