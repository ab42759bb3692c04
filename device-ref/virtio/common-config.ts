// Layer: virtio.
// The common configuration structure (virtio 1.4, "Common configuration structure layout"),
// register by register, over a VirtioTransport. Like QEMU, an access is decoded by the offset
// it starts at and its value is truncated to the access size; unlike QEMU, an access that
// does not match a field (wrong width, middle of a field) or writes a read-only field is
// also recorded as a finding: the driver MUST access each field with its own width, and
// 64-bit fields as two 32-bit halves.

import type { AccessSize, MmioRegion } from '../platform/mmio-region.js';
import { hex } from '../hex.js';
import { VIRTIO_MSI_NO_VECTOR } from './constants.js';
import type { QueueAddressField, VirtioTransport } from './transport.js';

interface Field {
  readonly name: string;
  readonly width: AccessSize;
  read(t: VirtioTransport): number;
  /** Absent for fields that are read-only for the driver. */
  write?(t: VirtioTransport, value: number): void;
}

function queueAddress(field: QueueAddressField, high: boolean): Field {
  return {
    name: `queue_${field} ${high ? 'high' : 'low'} half`,
    width: 4,
    read: (t) => {
      const value = t.selectedQueue?.[field] ?? 0n;
      return Number((high ? value >> 32n : value) & 0xffffffffn);
    },
    write: (t, value) => t.writeQueueAddress(field, high, value),
  };
}

const FIELDS = new Map<number, Field>([
  [
    0x00,
    {
      name: 'device_feature_select',
      width: 4,
      read: (t) => t.deviceFeatureSelect,
      write: (t, v) => (t.deviceFeatureSelect = v),
    },
  ],
  [0x04, { name: 'device_feature', width: 4, read: (t) => t.deviceFeatureWord }],
  [
    0x08,
    {
      name: 'driver_feature_select',
      width: 4,
      read: (t) => t.driverFeatureSelect,
      write: (t, v) => (t.driverFeatureSelect = v),
    },
  ],
  [
    0x0c,
    {
      name: 'driver_feature',
      width: 4,
      read: (t) => t.driverFeatureWord,
      write: (t, v) => t.writeDriverFeatureWord(v),
    },
  ],
  // No MSI-X: every vector mapping fails, which the driver sees as NO_VECTOR on read-back.
  [
    0x10,
    { name: 'config_msix_vector', width: 2, read: () => VIRTIO_MSI_NO_VECTOR, write: () => {} },
  ],
  [0x12, { name: 'num_queues', width: 2, read: (t) => t.queues.length }],
  [
    0x14,
    { name: 'device_status', width: 1, read: (t) => t.status, write: (t, v) => t.writeStatus(v) },
  ],
  [0x15, { name: 'config_generation', width: 1, read: (t) => t.configGeneration }],
  [
    0x16,
    {
      name: 'queue_select',
      width: 2,
      read: (t) => t.queueSelect,
      write: (t, v) => (t.queueSelect = v),
    },
  ],
  [
    0x18,
    {
      name: 'queue_size',
      width: 2,
      read: (t) => t.selectedQueue?.size ?? 0,
      write: (t, v) => t.writeQueueSize(v),
    },
  ],
  [
    0x1a,
    { name: 'queue_msix_vector', width: 2, read: () => VIRTIO_MSI_NO_VECTOR, write: () => {} },
  ],
  [
    0x1c,
    {
      name: 'queue_enable',
      width: 2,
      read: (t) => (t.selectedQueue?.enabled ? 1 : 0),
      write: (t, v) => t.writeQueueEnable(v),
    },
  ],
  // As in QEMU, queue n is notified at n * notify_off_multiplier, for any n.
  [0x1e, { name: 'queue_notify_off', width: 2, read: (t) => t.queueSelect }],
  [0x20, queueAddress('desc', false)],
  [0x24, queueAddress('desc', true)],
  [0x28, queueAddress('driver', false)],
  [0x2c, queueAddress('driver', true)],
  [0x30, queueAddress('device', false)],
  [0x34, queueAddress('device', true)],
  [0x38, { name: 'queue_notif_config_data', width: 2, read: () => 0 }],
  // A queue reset completes at once, so queue_reset always reads 0.
  [0x3a, { name: 'queue_reset', width: 2, read: () => 0, write: (t, v) => t.writeQueueReset(v) }],
  [0x3c, { name: 'admin_queue_index', width: 2, read: () => 0 }],
  [0x3e, { name: 'admin_queue_num', width: 2, read: () => 0 }],
]);

export class CommonConfigRegion implements MmioRegion {
  readonly size = 0x1000;
  readonly maxAccessSize = 4;
  readonly #transport: VirtioTransport;

  constructor(transport: VirtioTransport) {
    this.#transport = transport;
  }

  read(offset: number, size: AccessSize): bigint {
    const field = this.#field(offset, size, 'read');
    return field === undefined ? 0n : BigInt(field.read(this.#transport)) & mask(size);
  }

  write(offset: number, size: AccessSize, value: bigint): void {
    const field = this.#field(offset, size, 'write');
    if (field === undefined) return;
    if (field.write === undefined) {
      this.#transport.finding(
        `driver wrote read-only ${field.name} (common configuration offset ${hex(offset)}); ignored`,
      );
      return;
    }
    field.write(this.#transport, Number(value & mask(size)));
  }

  #field(offset: number, size: AccessSize, access: string): Field | undefined {
    const field = FIELDS.get(offset);
    if (field === undefined) {
      this.#transport.finding(
        `${size}-byte ${access} at common configuration offset ${hex(offset)}, which starts no field`,
      );
    } else if (field.width !== size) {
      this.#transport.finding(
        `${size}-byte ${access} of ${field.name}, a ${field.width}-byte field`,
      );
    }
    return field;
  }
}

function mask(size: AccessSize): bigint {
  return (1n << BigInt(8 * size)) - 1n;
}
