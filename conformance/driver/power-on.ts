// What the device shows before the driver's first reset, read by IommuDriver.open(): its
// power-on state, which is a reset state too (powering up a PCI function resets it), so
// dev.pci.queue-enable-reset binds it as it binds the state after the driver's reset.

import { VIRTIO_PCI_COMMON_CFG } from '../../dist/ts/index.js';
import type { VirtioPciTransport } from '../virtio/pci-transport.js';

/**
 * Every virtqueue's queue_enable, in queue order, and then the driver's first reset, in two
 * round trips (more only while the device is slow to reset): num_queues, then one pipelined
 * batch of queue_select writes, each followed by its queue_enable read, with the reset's write
 * of 0 and its status read after them. qtest keeps their order, so every read sees the state
 * before the reset.
 */
export async function readQueueEnablesThenReset(transport: VirtioPciTransport): Promise<number[]> {
  const { common } = transport;
  const count = await common.read16(VIRTIO_PCI_COMMON_CFG.num_queues.offset);
  const selected: Promise<void>[] = [];
  const enables: Promise<number>[] = [];
  for (let index = 0; index < count; index++) {
    selected.push(common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, index));
    enables.push(common.read16(VIRTIO_PCI_COMMON_CFG.queue_enable.offset));
  }
  const [values] = await Promise.all([
    Promise.all(enables),
    Promise.all(selected),
    transport.reset(),
  ]);
  return values;
}
