// Layer: iommu.
// The virtio-iommu device model: what the virtio-pci transport sees of the IOMMU core. It
// takes requests off the request queue, decodes them, runs the handler of their type and
// writes the tail; it carries fault reports to the event queue; and it is the Iommu that
// the board's endpoints translate their DMA through.
//
// Statements: dev.req.status-ok, dev.req.unknown-type-untouched,
// dev.req.unknown-type-used-len, dev.req.head-reserved, dev.req.tail-reserved,
// dev.probe.unoffered-untouched, dev.probe.unoffered-used-len, dev.fault.reserved,
// dev.fault.undefined-flags, dev.fault.endpoint, dev.fault.single-buffer.
//
// Choices: the tail of a request other than PROBE is the first 4 bytes of the
// device-writable part, and that of PROBE follows probe_size bytes of properties, as the
// structures lay them out; a writable part longer than that keeps its extra bytes. A
// readable part too short for its type gets VIRTIO_IOMMU_S_INVAL when there is room for the
// tail. A fault waits in a backlog of `faultBacklog` reports until the driver makes an
// event buffer available; a fault beyond that is dropped and counted. An event buffer too
// small for a report is returned unwritten and the report goes to the next one: there is
// no older, smaller report format (dev.fault.older-format not taken).

import {
  DEVICE_ID,
  encodeFault,
  encodeRequestTail,
  REQUEST_VERBS,
  REQUESTS,
  requestTypeName,
  SIZEOF_VIRTIO_IOMMU_FAULT,
  SIZEOF_VIRTIO_IOMMU_REQ_HEAD,
  SIZEOF_VIRTIO_IOMMU_REQ_TAIL,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_S_INVAL,
  VIRTQUEUE,
  type RequestVerb,
} from '../../dist/ts/index.js';
import type { DmaAccess, Iommu, Translation } from '../platform/dma-translation.js';
import type {
  ConfigAccessSize,
  DescriptorChain,
  QueueAccess,
  VirtioDeviceContext,
  VirtioDeviceModel,
} from '../virtio/device-model.js';
import { handleAttach } from './attach.js';
import { IommuCore } from './core.js';
import { handleDetach } from './detach.js';
import { draftExtension, type DraftExtension, type DraftName } from './drafts/drafts.js';
import { isAllZero } from './fields.js';
import { DriverFindings, type FindingSink } from './findings.js';
import { handleMap } from './map.js';
import type { IommuCoreOptions } from './options.js';
import { handleProbe } from './probe.js';
import { loadStatementCatalog, type StatementCatalog } from './statements.js';
import { translate, type FaultReport } from './translation.js';
import { handleUnmap } from './unmap.js';

export const REQUEST_QUEUE = VIRTQUEUE.requestq;
export const EVENT_QUEUE = VIRTQUEUE.eventq;

const NOTHING = new Uint8Array(0);
/** The reserved bytes of every tail and fault report the device writes: zero. */
const ZEROES = new Uint8Array(3);

export interface VirtioIommuOptions extends IommuCoreOptions {
  /** Fault reports kept while the driver offers no event buffer. */
  faultBacklog: number;
  /** Size of each virtqueue. */
  queueSize: number;
  /** Draft extensions served before the spec's handlers (iommu/drafts/). */
  drafts?: readonly DraftName[];
}

/**
 * What a board description does not say: the device's own limits. The queue size is
 * QEMU's; the mapping limit keeps a flooding driver from exhausting the host's memory
 * (40 bytes a mapping, twice that while the arrays grow) while leaving room for millions of mappings.
 */
export const DEVICE_LIMITS = { maxMappings: 1 << 22, faultBacklog: 64, queueSize: 256 } as const;

export class VirtioIommu implements VirtioDeviceModel, Iommu {
  readonly deviceId = DEVICE_ID;
  readonly queueMaxSizes: readonly number[];
  readonly core: IommuCore;
  readonly #context: VirtioDeviceContext;
  readonly #faultBacklog: number;
  readonly #drafts: Required<DraftExtension> | undefined;
  readonly #backlog: FaultReport[] = [];
  #droppedFaults = 0;

  constructor(context: VirtioDeviceContext, options: VirtioIommuOptions, findings: DriverFindings) {
    if (!Number.isInteger(options.faultBacklog) || options.faultBacklog < 0) {
      throw new Error('IOMMU configuration: faultBacklog must be a non-negative integer');
    }
    this.core = new IommuCore(options, findings);
    this.queueMaxSizes = [options.queueSize, options.queueSize];
    this.#context = context;
    this.#faultBacklog = options.faultBacklog;
    this.#drafts = draftExtension(options.drafts ?? [], this.core);
  }

  /** Fault reports dropped because the backlog was full. */
  get droppedFaults(): number {
    return this.#droppedFaults;
  }

  /** Fault reports waiting for an event buffer. */
  get pendingFaults(): number {
    return this.#backlog.length;
  }

  offeredFeatures(): bigint {
    return this.core.options.features;
  }

  readConfig(offset: number, size: ConfigAccessSize): number {
    return this.core.readConfig(offset, size);
  }

  writeConfig(offset: number, size: ConfigAccessSize, value: number): void {
    this.core.writeConfig(offset, size, value);
  }

  featuresAccepted(features: bigint): void {
    this.core.featuresAccepted(features);
  }

  reset(): void {
    this.core.reset();
    this.#backlog.length = 0;
  }

  systemReset(): void {
    this.core.systemReset();
    this.#backlog.length = 0;
  }

  queueNotified(index: number, queue: QueueAccess): void {
    if (index === REQUEST_QUEUE) {
      for (let chain = queue.pop(); chain; chain = queue.pop())
        queue.push(chain, this.serve(chain));
    } else if (index === EVENT_QUEUE) {
      this.#flushFaults(queue);
    }
  }

  translate(endpoint: number, iova: bigint, length: number, access: DmaAccess): Translation {
    const result = translate(this.core, endpoint, iova, length, access);
    if (result.ok) return result;
    if (result.fault) this.#report(result.fault);
    return { ok: false };
  }

  /** What the device writes for one request chain: the bytes from the start of its writable part. */
  serve(chain: DescriptorChain): Uint8Array {
    const request = chain.readable;
    const findings = this.core.findings;
    if (request.length < SIZEOF_VIRTIO_IOMMU_REQ_HEAD) {
      findings.observe(
        `a request of ${request.length} bytes is too short for a request head; the device returned it unwritten`,
        {
          readable: request.length,
        },
      );
      return NOTHING;
    }
    const type = request[0]!;
    const drafted = this.#drafts?.serve(type, chain);
    if (drafted !== undefined) return drafted;
    const verb: RequestVerb | undefined = REQUEST_VERBS[type];
    if (verb === undefined) {
      this.#unknownType(request);
      return NOTHING;
    }
    const driverPartSize = REQUESTS[verb].readableSize;
    const label = requestTypeName(type);
    if ((request[1]! | request[2]! | request[3]!) !== 0) {
      findings.report(
        'drv.req.head-reserved',
        `${label}: the head's reserved bytes are not zero; the device disregarded them (dev.req.head-reserved)`,
        {
          reserved: Array.from(request.subarray(1, SIZEOF_VIRTIO_IOMMU_REQ_HEAD)),
        },
      );
    }
    // The device acts on the features negotiated only: a PROBE without VIRTIO_IOMMU_F_PROBE
    // negotiated is treated as by a device that does not offer it.
    if (verb === 'probe' && !this.core.negotiated(VIRTIO_IOMMU_F_PROBE)) {
      findings.observe(
        this.core.offers(VIRTIO_IOMMU_F_PROBE)
          ? 'VIRTIO_IOMMU_T_PROBE, but the driver did not accept VIRTIO_IOMMU_F_PROBE; the device returned the buffer unwritten, as without the feature'
          : 'VIRTIO_IOMMU_T_PROBE, but the device does not offer VIRTIO_IOMMU_F_PROBE; it returned the buffer unwritten',
      );
      return NOTHING;
    }
    if (chain.writableLength < SIZEOF_VIRTIO_IOMMU_REQ_TAIL) {
      findings.observe(
        `${label}: the device-writable part has ${chain.writableLength} bytes, no room for the 4-byte tail; the device returned it unwritten`,
        {
          writable: chain.writableLength,
        },
      );
      return NOTHING;
    }
    if (request.length < driverPartSize) {
      findings.observe(
        `${label}: the device-readable part has ${request.length} bytes instead of ${driverPartSize}; the device answered VIRTIO_IOMMU_S_INVAL`,
        {
          readable: request.length,
        },
      );
      return tail(VIRTIO_IOMMU_S_INVAL);
    }
    if (verb === 'probe') {
      const { status, properties } = handleProbe(
        this.core,
        REQUESTS.probe.decodeDriverPart(request),
        chain.writableLength - SIZEOF_VIRTIO_IOMMU_REQ_TAIL,
        this.#drafts?.probeProperties,
      );
      const written = new Uint8Array(properties.length + SIZEOF_VIRTIO_IOMMU_REQ_TAIL);
      REQUESTS.probe.encodeDevicePart(
        written,
        { properties, tail: { status, reserved: ZEROES } },
        properties.length,
      );
      return written;
    }
    if (chain.writableLength > SIZEOF_VIRTIO_IOMMU_REQ_TAIL) {
      findings.observe(
        `${label}: the device-writable part has ${chain.writableLength} bytes; the tail takes the first 4 and the rest stays as it was`,
        {
          writable: chain.writableLength,
        },
      );
    }
    switch (verb) {
      case 'attach':
        return tail(handleAttach(this.core, REQUESTS.attach.decodeDriverPart(request)));
      case 'detach':
        return tail(handleDetach(this.core, REQUESTS.detach.decodeDriverPart(request)));
      case 'map':
        return tail(handleMap(this.core, REQUESTS.map.decodeDriverPart(request)));
      case 'unmap':
        return tail(handleUnmap(this.core, REQUESTS.unmap.decodeDriverPart(request)));
    }
  }

  #unknownType(request: Uint8Array): void {
    if (isAllZero(request)) {
      this.core.findings.observe(
        `a request of ${request.length} bytes that are all zero: type 0 is no request type, so the device returned it unwritten. ` +
          'A driver usually sends zeros when the device reads other memory than the one it filled: for instance, a request ' +
          'built on the kernel stack, which is vmalloc memory when CONFIG_VMAP_STACK is set, and whose address went through ' +
          'virt_to_phys() or sg_init_one() as if it were in the linear map. Allocate request buffers with kmalloc instead.',
        { readable: request.length },
      );
      return;
    }
    this.core.findings.observe(
      `a request of unknown type ${request[0]}; the device returned it unwritten (dev.req.unknown-type-untouched)`,
      {
        type: request[0],
      },
    );
  }

  #report(fault: FaultReport): void {
    if (this.#backlog.length === 0 && this.#post(this.#context.queue(EVENT_QUEUE), fault)) return;
    if (this.#backlog.length < this.#faultBacklog) this.#backlog.push(fault);
    else this.#droppedFaults++;
  }

  #flushFaults(queue: QueueAccess): void {
    while (this.#backlog.length > 0 && this.#post(queue, this.#backlog[0]!)) this.#backlog.shift();
  }

  /** Writes `fault` into the next event buffer big enough for it; false when there is none. */
  #post(queue: QueueAccess, fault: FaultReport): boolean {
    for (let chain = queue.pop(); chain; chain = queue.pop()) {
      if (chain.writableLength >= SIZEOF_VIRTIO_IOMMU_FAULT) {
        const report = new Uint8Array(SIZEOF_VIRTIO_IOMMU_FAULT);
        encodeFault(report, { ...fault, reserved: ZEROES, reserved1: 0 });
        queue.push(chain, report);
        return true;
      }
      this.core.findings.observe(
        `an event buffer of ${chain.writableLength} bytes is too small for a ${SIZEOF_VIRTIO_IOMMU_FAULT}-byte fault report; the device returned it unwritten`,
        {
          writable: chain.writableLength,
        },
      );
      queue.push(chain, NOTHING);
    }
    return false;
  }
}

/** Each status's tail, encoded on first use: push() only copies it, nobody writes to it. */
const TAILS = new Map<number, Uint8Array>();

/** The 4-byte tail: `status`, then reserved bytes of zero (dev.req.tail-reserved). */
function tail(status: number): Uint8Array {
  let bytes = TAILS.get(status);
  if (bytes === undefined) {
    bytes = new Uint8Array(SIZEOF_VIRTIO_IOMMU_REQ_TAIL);
    encodeRequestTail(bytes, { status, reserved: ZEROES });
    TAILS.set(status, bytes);
  }
  return bytes;
}

let sharedCatalog: StatementCatalog | undefined;

/**
 * A virtio-iommu for `options.endpoints` that reports driver findings to `report`, quoting
 * statements from `catalog` (by default dist/cases.json, read once).
 */
export function createVirtioIommu(
  context: VirtioDeviceContext,
  options: VirtioIommuOptions,
  report: FindingSink,
  catalog: StatementCatalog = (sharedCatalog ??= loadStatementCatalog()),
): VirtioIommu {
  return new VirtioIommu(context, options, new DriverFindings(catalog, report));
}
