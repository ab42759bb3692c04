// The common configuration structure of the virtio-pci transport (virtio 1.4, "Common
// configuration structure layout"): the one place its fields are written down. spec-src
// names these registers in italics but does not define them (they are the virtio
// specification's, not the device's), so they are not structs of the model; the generator
// lays them out here and emits the table to dist/ts/virtio-pci.ts for the device and the suite.

import type { ScalarType } from '../model.js';

export type DriverAccess = 'read-write' | 'read-only';

export interface CommonCfgField {
  name: string;
  type: ScalarType;
  /** What the driver may do; the device may change any field. */
  access: DriverAccess;
}

/** struct virtio_pci_common_cfg, field by field in the order of the virtio specification. */
export const VIRTIO_PCI_COMMON_CFG_FIELDS: readonly CommonCfgField[] = [
  // About the whole device.
  { name: 'device_feature_select', type: 'le32', access: 'read-write' },
  { name: 'device_feature', type: 'le32', access: 'read-only' },
  { name: 'driver_feature_select', type: 'le32', access: 'read-write' },
  { name: 'driver_feature', type: 'le32', access: 'read-write' },
  { name: 'config_msix_vector', type: 'le16', access: 'read-write' },
  { name: 'num_queues', type: 'le16', access: 'read-only' },
  { name: 'device_status', type: 'u8', access: 'read-write' },
  { name: 'config_generation', type: 'u8', access: 'read-only' },
  // About a specific virtqueue, the one queue_select names.
  { name: 'queue_select', type: 'le16', access: 'read-write' },
  { name: 'queue_size', type: 'le16', access: 'read-write' },
  { name: 'queue_msix_vector', type: 'le16', access: 'read-write' },
  { name: 'queue_enable', type: 'le16', access: 'read-write' },
  { name: 'queue_notify_off', type: 'le16', access: 'read-only' },
  { name: 'queue_desc', type: 'le64', access: 'read-write' },
  { name: 'queue_driver', type: 'le64', access: 'read-write' },
  { name: 'queue_device', type: 'le64', access: 'read-write' },
  { name: 'queue_notif_config_data', type: 'le16', access: 'read-only' },
  { name: 'queue_reset', type: 'le16', access: 'read-write' },
  // About the administration virtqueue.
  { name: 'admin_queue_index', type: 'le16', access: 'read-only' },
  { name: 'admin_queue_num', type: 'le16', access: 'read-only' },
];
