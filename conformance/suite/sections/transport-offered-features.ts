// Transport feature bits where the device offers them (spec-src/09-transport.md): the driver
// accepts every bit the device offers, except VIRTIO_F_EVENT_IDX and the ones that change how
// it must drive the rings or the notify area (packed layout, in-order use, notification
// data), and checks what the bits it knows mean: without VIRTIO_F_EVENT_IDX, _flags_ 0 asks
// for a notification whatever _used_event_ holds (dev.vq.notify-flags-clear); with
// VIRTIO_F_ADMIN_VQ, the administration queues lie past the others
// (dev.pci.admin-queue-index). A device that offers a bit in the wrong place and then acts
// on it as if it were the bit it meant fails one of them.

import { VIRTIO_F_VERSION_1, featureBit } from '../../virtio/constants.js';
import { NotApplicable, SectionTests } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import {
  VIRTIO_F_EVENT_IDX,
  hex,
  startOwnQueue,
  submitHarmless,
  waitInterrupt,
  writeUsedEvent,
} from '../transport-steps.js';
import { VIRTIO_F_ADMIN_VQ, judgeAdminQueues } from './transport-vector-fields.js';

export const section = 'device-requirements-used-buffer-notifications';
export const tests = new SectionTests();

/** Bits the driver declines: EVENT_IDX on purpose; the rest change how it must drive the device. */
const DECLINED = [
  VIRTIO_F_EVENT_IDX,
  34, // VIRTIO_F_RING_PACKED
  35, // VIRTIO_F_IN_ORDER
  38, // VIRTIO_F_NOTIFICATION_DATA
  39, // VIRTIO_F_NOTIF_CONFIG_DATA
];
/** How long the notification the device owes may take to show. */
const NOTIFY_WAIT_MS = 500;

tests.it(
  '[dev.vq.notify-flags-clear] with every offered feature bit accepted but VIRTIO_F_EVENT_IDX, flags 0 asks for a notification whatever used_event holds, and admin_queue_index lies past the queues when VIRTIO_F_ADMIN_VQ is among them',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const wanted = DECLINED.reduce((bits, bit) => bits & ~featureBit(bit), session.driver.offered);
    const { queue, accepted } = await startOwnQueue(session, { features: wanted });
    if ((accepted & featureBit(VIRTIO_F_VERSION_1)) === 0n)
      throw new NotApplicable('VIRTIO_F_VERSION_1 was not negotiated');
    await session.driver.transport.readIsr();
    await queue.writeAvailFlags(0);
    // A used_event that would hold the notification back, were VIRTIO_F_EVENT_IDX negotiated.
    await writeUsedEvent(session, queue, 5);
    await submitHarmless(session, queue);
    const notified = await waitInterrupt(session, NOTIFY_WAIT_MS);
    const isr = await session.driver.transport.readIsr();
    if (!notified && (isr & 1) === 0)
      judgement.fail('dev.vq.notify-flags-clear', {
        expected:
          'a used buffer notification: VIRTIO_F_EVENT_IDX was not negotiated and flags is 0, so used_event (5) does not count',
        message: `no notification within ${NOTIFY_WAIT_MS} ms with features ${hex(accepted)} accepted: ISR status ${hex(isr)}`,
      });
    if ((accepted & featureBit(VIRTIO_F_ADMIN_VQ)) !== 0n)
      await judgeAdminQueues(session, judgement);
  },
);
