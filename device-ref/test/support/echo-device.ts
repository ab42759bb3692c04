// Test doubles for what device-ref/iommu/ will provide: an echo device model (queue 0 echoes
// each request's readable bytes into its writable buffers; queue 1 keeps the buffers the
// driver posts until the test emits an event into one) and an identity IOMMU that can be
// told to fault on some pages. Both stand in behind the virtio-pci function of a board.

import type { IommuModel, IommuModelHost } from '../../board/board.js';
import type { DmaAccess, Translation } from '../../platform/dma-translation.js';
import type {
  ConfigAccessSize,
  DescriptorChain,
  QueueAccess,
  VirtioDeviceContext,
} from '../../virtio/device-model.js';

/** The config space: le32 magic (read-only) then le32 scratch (read-write); all-ones beyond. */
export const ECHO_MAGIC = 0x6f686365;
export const REQUEST_QUEUE = 0;
export const EVENT_QUEUE = 1;

const FEATURE_BITS: Record<string, number> = {
  VIRTIO_IOMMU_F_INPUT_RANGE: 0,
  VIRTIO_IOMMU_F_DOMAIN_RANGE: 1,
  VIRTIO_IOMMU_F_MAP_UNMAP: 2,
  VIRTIO_IOMMU_F_BYPASS: 3,
  VIRTIO_IOMMU_F_PROBE: 4,
  VIRTIO_IOMMU_F_MMIO: 5,
  VIRTIO_IOMMU_F_BYPASS_CONFIG: 6,
};

export class EchoIommu implements IommuModel {
  /** Same device ID as virtio-iommu, so the board's PCI IDs are QEMU's. */
  readonly deviceId = 23;
  readonly queueMaxSizes = [256, 256];
  readonly accepted: bigint[] = [];
  resets = 0;
  systemResets = 0;
  scratch = 0;
  /** Pages (iova >> 12) on which translate() faults, and the faults it reported. */
  readonly faultingPages = new Set<bigint>();
  readonly faults: { endpoint: number; iova: bigint; access: DmaAccess }[] = [];
  readonly #features: bigint;
  readonly #virtio: VirtioDeviceContext;
  readonly #events: DescriptorChain[] = [];

  constructor(host: IommuModelHost) {
    this.#features = host.config.features.reduce(
      (bits, name) => bits | (1n << BigInt(FEATURE_BITS[name]!)),
      0n,
    );
    this.#virtio = host.virtio;
  }

  offeredFeatures(): bigint {
    return this.#features;
  }

  readConfig(offset: number, size: ConfigAccessSize): number {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setUint32(0, ECHO_MAGIC, true);
    new DataView(bytes.buffer).setUint32(4, this.scratch, true);
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + (bytes[offset + i] ?? 0xff);
    return value;
  }

  writeConfig(offset: number, size: ConfigAccessSize, value: number): void {
    if (offset === 4 && size === 4) this.scratch = value;
  }

  featuresAccepted(features: bigint): void {
    this.accepted.push(features);
  }

  reset(): void {
    this.resets++;
    this.#events.length = 0;
  }

  systemReset(): void {
    this.systemResets++;
    this.reset();
    this.scratch = 0;
  }

  queueNotified(index: number, queue: QueueAccess): void {
    for (let chain = queue.pop(); chain !== null; chain = queue.pop()) {
      if (index === REQUEST_QUEUE)
        queue.push(chain, chain.readable.subarray(0, chain.writableLength));
      else this.#events.push(chain);
    }
  }

  /** Fills the oldest posted event buffer with `data`; false when none is posted. */
  emitEvent(data: Uint8Array): boolean {
    const queue = this.#virtio.queue(EVENT_QUEUE);
    for (let chain = queue.pop(); chain !== null; chain = queue.pop()) this.#events.push(chain);
    const chain = this.#events.shift();
    if (chain === undefined) return false;
    queue.push(chain, data.subarray(0, chain.writableLength));
    return true;
  }

  /** The identity, one 4 KiB page at a time, except on faulting pages. */
  translate(endpoint: number, iova: bigint, length: number, access: DmaAccess): Translation {
    if (this.faultingPages.has(iova >> 12n)) {
      this.faults.push({ endpoint, iova, access });
      return { ok: false };
    }
    const toPageEnd = Number(0x1000n - (iova & 0xfffn));
    return { ok: true, pa: iova, length: Math.min(length, toPageEnd) };
  }
}

/** A board whose IOMMU is an EchoIommu; `created` collects every instance (one per board). */
export function echoIommuFactory(created: EchoIommu[] = []): (host: IommuModelHost) => EchoIommu {
  return (host) => {
    const model = new EchoIommu(host);
    created.push(model);
    return model;
  };
}
