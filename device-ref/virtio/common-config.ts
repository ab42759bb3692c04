// Layer: virtio.
// The common configuration structure (virtio 1.4, "Common configuration structure layout"),
// register by register, over a VirtioTransport. Like QEMU, an access is decoded by the offset
// it starts at and its value is truncated to the access size; unlike QEMU, an access that
// does not match a field (wrong width, middle of a field) or writes a read-only field is
// also recorded as a finding: the driver MUST access each field with its own width, and
// 64-bit fields as two 32-bit halves.

import type { AccessSize, MmioRegion } from '../platform/mmio-region.js';
import { VIRTIO_PCI_COMMON_CFG, type CommonCfgFieldName } from '../../dist/ts/index.js';
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

type Layout = typeof VIRTIO_PCI_COMMON_CFG;
/** The 64-bit queue address fields: a driver accesses each as two 32-bit halves. */
type AddressFieldName = `queue_${QueueAddressField}`;
type RegisterName = Exclude<CommonCfgFieldName, AddressFieldName>;

/** What a field does; a field the layout makes read-only has no write, a read-write one has one. */
type Register<Name extends RegisterName> = {
  read(t: VirtioTransport): number;
} & (Layout[Name]['access'] extends 'read-write'
  ? { write(t: VirtioTransport, value: number): void }
  : { write?: never });

const REGISTERS: { readonly [Name in RegisterName]: Register<Name> } = {
  device_feature_select: {
    read: (t) => t.deviceFeatureSelect,
    write: (t, v) => (t.deviceFeatureSelect = v),
  },
  device_feature: { read: (t) => t.deviceFeatureWord },
  driver_feature_select: {
    read: (t) => t.driverFeatureSelect,
    write: (t, v) => (t.driverFeatureSelect = v),
  },
  driver_feature: {
    read: (t) => t.driverFeatureWord,
    write: (t, v) => t.writeDriverFeatureWord(v),
  },
  // No MSI-X: every vector mapping fails, which the driver sees as NO_VECTOR on read-back.
  config_msix_vector: { read: () => VIRTIO_MSI_NO_VECTOR, write: () => {} },
  num_queues: { read: (t) => t.queues.length },
  device_status: { read: (t) => t.status, write: (t, v) => t.writeStatus(v) },
  config_generation: { read: (t) => t.configGeneration },
  queue_select: { read: (t) => t.queueSelect, write: (t, v) => (t.queueSelect = v) },
  queue_size: { read: (t) => t.selectedQueue?.size ?? 0, write: (t, v) => t.writeQueueSize(v) },
  queue_msix_vector: { read: () => VIRTIO_MSI_NO_VECTOR, write: () => {} },
  queue_enable: {
    read: (t) => (t.selectedQueue?.enabled ? 1 : 0),
    write: (t, v) => t.writeQueueEnable(v),
  },
  // As in QEMU, queue n is notified at n * notify_off_multiplier, for any n.
  queue_notify_off: { read: (t) => t.queueSelect },
  queue_notif_config_data: { read: () => 0 },
  // A queue reset completes at once, so queue_reset always reads 0.
  queue_reset: { read: () => 0, write: (t, v) => t.writeQueueReset(v) },
  admin_queue_index: { read: () => 0 },
  admin_queue_num: { read: () => 0 },
};

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

/** Every field by the offset it starts at, laid out as dist/ts lays out the structure. */
const FIELDS = new Map<number, Field>(
  (Object.keys(VIRTIO_PCI_COMMON_CFG) as CommonCfgFieldName[]).flatMap((name) => {
    const { offset, size } = VIRTIO_PCI_COMMON_CFG[name];
    if (size === 8) {
      const field = name.slice('queue_'.length) as QueueAddressField;
      return [
        [offset, queueAddress(field, false)],
        [offset + 4, queueAddress(field, true)],
      ];
    }
    return [[offset, { name, width: size, ...REGISTERS[name as RegisterName] }]];
  }),
);

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
