// Steps the transport tests share (spec-src/09-transport.md): the IOMMU function's PCI
// configuration registers, a request queue of the test's own (its size and ring flags under
// the test's control), and the interrupt state a driver without MSI-X sees.

import { VIRTQUEUE } from '../../dist/ts/index.js';
import { encodeRequest } from '../driver/requests.js';
import { PCI_COMMAND, PCI_STATUS, type PciAddress, type PciConfig } from '../pci/config.js';
import { deviceClock } from '../qtest/device-clock.js';
import { PollTimeoutError } from '../qtest/poll.js';
import type { Session } from '../session.js';
import { VIRTIO_F_VERSION_1, featureBit } from '../virtio/constants.js';
import type { VirtioPciTransport } from '../virtio/pci-transport.js';
import { SplitVirtqueue, type UsedBuffer } from '../virtio/split-virtqueue.js';

export const PCI_STATUS_INTERRUPT = 0x08;
export const ISR_QUEUE = 0x1;
/** Transport feature bit (virtio 1.4): used_event / avail_event. */
export const VIRTIO_F_EVENT_IDX = 29;
/** Bit 0 of the available ring's flags. */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** How long a test waits for a notification that may legitimately never come. */
export const QUIET_WAIT_MS = 150;

/** The IOMMU function's configuration space. */
export function iommuConfig(session: Session): { config: PciConfig; address: PciAddress } {
  const device = session.driver.transport.device;
  return { config: device.config, address: device.address };
}

export async function readCommand(session: Session): Promise<number> {
  const { config, address } = iommuConfig(session);
  return config.read16(address, PCI_COMMAND);
}

export async function writeCommand(session: Session, value: number): Promise<void> {
  const { config, address } = iommuConfig(session);
  await config.write16(address, PCI_COMMAND, value);
}

/** Bit 3 of the PCI Status register: the function asserts its INTx line. */
export async function interruptAsserted(session: Session): Promise<boolean> {
  const { config, address } = iommuConfig(session);
  return ((await config.read16(address, PCI_STATUS)) & PCI_STATUS_INTERRUPT) !== 0;
}

/**
 * `probe`'s first answer within `timeoutMs` of the device's time, or undefined once that
 * passed. Waited for as qtest/device-clock.ts says: stepped in virtual time on device-ref, until
 * the device has settled on the QEMU the qemu target spawns, in host time elsewhere; so a
 * wait for something that may legitimately never come costs a few round trips, not its length.
 */
export async function within<T>(
  session: Session,
  timeoutMs: number,
  what: string,
  probe: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const clock = await deviceClock(session.qtest);
  try {
    return await clock.waitFor(probe, { timeoutMs, what, intervalMs: 2 });
  } catch (error) {
    if (error instanceof PollTimeoutError) return undefined;
    throw error;
  }
}

/** Looks at the PCI Status interrupt bit for up to `timeoutMs`; true as soon as it is set. */
export async function waitInterrupt(session: Session, timeoutMs: number): Promise<boolean> {
  const asserted = await within(session, timeoutMs, 'the INTx interrupt', async () =>
    (await interruptAsserted(session)) ? true : undefined,
  );
  return asserted ?? false;
}

export interface OwnQueue {
  transport: VirtioPciTransport;
  queue: SplitVirtqueue;
  accepted: bigint;
}

/**
 * Resets the device and brings it up with a request queue of the test's own: the driver
 * accepts VERSION_1 and `features` (when offered), programs the request queue with `size`
 * entries (default 8) and sets DRIVER_OK. The event queue is not set up: requests do not need
 * it.
 */
export async function startOwnQueue(
  session: Session,
  options: { features?: bigint; size?: number } = {},
): Promise<OwnQueue> {
  const transport = session.driver.transport;
  await transport.reset();
  const { accepted } = await transport.negotiate(
    (options.features ?? 0n) | featureBit(VIRTIO_F_VERSION_1),
  );
  const memory = session.memory.allocate(0x2_0000);
  const queue = await SplitVirtqueue.create(transport, VIRTQUEUE.requestq, memory, {
    size: options.size ?? 8,
  });
  await transport.driverOk();
  return { transport, queue, accepted };
}

/** One request of no consequence (DETACH of @ep from domain 1), submitted and waited for. */
export async function submitHarmless(session: Session, queue: SplitVirtqueue): Promise<UsedBuffer> {
  const { readable, writableLength } = encodeRequest('detach', {
    domain: 1n,
    endpoint: BigInt(session.driver.edu?.endpointId ?? 0),
  });
  return queue.submit({
    segments: [
      { writable: false, bytes: readable },
      { writable: true, length: writableLength },
    ],
  });
}

/** Writes used_event, the le16 after the available ring's entries. */
export async function writeUsedEvent(session: Session, queue: SplitVirtqueue, value: number) {
  const { driver, size } = queue.addresses;
  await session.qtest.writew(driver + 4n + 2n * BigInt(size), value);
}

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
