// Device requirements: ISR status and Used buffer notifications (spec-src/09-transport.md).
// The driver has not enabled MSI-X, so a used buffer notification is the function's INTx
// interrupt: bit 3 of the PCI Status register, with the reason in the ISR status byte. All
// of it is read by polling; nothing here needs the interrupt to be delivered anywhere.

import { VIRTIO_F_VERSION_1, featureBit } from '../../virtio/constants.js';
import { NotApplicable, SectionTests, type Judgement } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import {
  ISR_QUEUE,
  QUIET_WAIT_MS,
  VIRTIO_F_EVENT_IDX,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  hex,
  interruptAsserted,
  iommuConfig,
  startOwnQueue,
  submitHarmless,
  waitInterrupt,
  writeUsedEvent,
} from '../transport-steps.js';
import type { Session } from '../../session.js';
import type { SplitVirtqueue } from '../../virtio/split-virtqueue.js';

export const section = 'device-requirements-isr-status';
export const tests = new SectionTests();

/** How long a notification the device owes may take to show. */
const NOTIFY_WAIT_MS = 500;
const PCI_INTERRUPT_PIN = 0x3d;

/** What the driver sees of the interrupt after a request came back: INTx, then the ISR. */
interface Seen {
  asserted: boolean;
  isr: number;
}

/** Submits a harmless request on `queue` and looks at the interrupt once it came back. */
async function requestAndLook(
  session: Session,
  queue: SplitVirtqueue,
  expectNotification: boolean,
): Promise<Seen> {
  await submitHarmless(session, queue);
  const asserted = await waitInterrupt(
    session,
    expectNotification ? NOTIFY_WAIT_MS : QUIET_WAIT_MS,
  );
  const isr = await session.driver.transport.readIsr();
  return { asserted, isr };
}

/**
 * Judges what the ISR statements say about one observation: the PCI Status bit is the OR of
 * the ISR bits, and a notification sets the queue bit. Returns whether a notification came.
 */
function judgeIsr(judgement: Judgement, seen: Seen, when: string): boolean {
  if (seen.asserted !== (seen.isr !== 0))
    judgement.fail('dev.pci.isr-pci-status', {
      expected: 'the PCI Status interrupt bit set exactly when an ISR status bit is',
      message: `${when}: the PCI Status interrupt bit was ${seen.asserted ? 'set' : 'clear'} and the ISR status then read ${hex(seen.isr)}`,
    });
  if (seen.asserted && (seen.isr & ISR_QUEUE) === 0)
    judgement.fail('dev.pci.isr-queue', {
      expected: 'bit 0 of the ISR status set with a used buffer notification',
      message: `${when}: the device interrupted with ISR status ${hex(seen.isr)}`,
    });
  return seen.asserted || (seen.isr & ISR_QUEUE) !== 0;
}

/** After the ISR read: the ISR is 0 again and so is the PCI Status interrupt bit. */
async function judgeCleared(session: Session, judgement: Judgement, when: string): Promise<void> {
  const [isr, asserted] = [
    await session.driver.transport.readIsr(),
    await interruptAsserted(session),
  ];
  if (isr !== 0)
    judgement.fail('dev.pci.isr-read-clears', {
      expected: 'ISR status 0 on the read after a read',
      message: `${when}: a second read of the ISR status gave ${hex(isr)}`,
    });
  if (asserted)
    judgement.fail('dev.pci.isr-pci-status', {
      expected: 'the PCI Status interrupt bit clear once the ISR status is 0',
      message: `${when}: after the ISR status was read (and cleared), the PCI Status interrupt bit is still set`,
    });
}

tests.it(
  '[dev.vq.notify-flags-clear] [dev.pci.isr-queue] [dev.pci.isr-pci-status] [dev.pci.isr-read-clears] [dev.pci.pci-rules] with flags 0 and no VIRTIO_F_EVENT_IDX, a used request raises INTx (on the pin the Interrupt Pin register names) with ISR bit 0, and reading the ISR clears both',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { queue } = await startOwnQueue(session);
    await session.driver.transport.readIsr();
    if (await interruptAsserted(session))
      judgement.fail('dev.pci.isr-pci-status', {
        expected: 'no interrupt before any request',
        message: 'the PCI Status interrupt bit is set with the ISR status just read (cleared)',
      });
    await queue.writeAvailFlags(0);
    const seen = await requestAndLook(session, queue, true);
    if (!judgeIsr(judgement, seen, 'after a request with flags 0'))
      judgement.fail('dev.vq.notify-flags-clear', {
        expected: 'a used buffer notification (INTx, ISR bit 0) after the request was used',
        message: `no notification within ${NOTIFY_WAIT_MS} ms: PCI Status interrupt bit clear, ISR status ${hex(seen.isr)}`,
      });
    await judgeCleared(session, judgement, 'after a request with flags 0');
    if (seen.asserted) {
      // It signals INTx, so its Interrupt Pin register must name a pin (PCI: 0 is none).
      const { config, address } = iommuConfig(session);
      const pin = await config.read8(address, PCI_INTERRUPT_PIN);
      if (pin < 1 || pin > 4)
        judgement.fail('dev.pci.pci-rules', {
          expected:
            'an Interrupt Pin register of 1 to 4 (INTA# to INTD#) on a function that asserts INTx',
          message: `the function asserted INTx, but its Interrupt Pin register reads ${pin}`,
        });
    }
  },
);

tests.it(
  '[dev.vq.no-interrupt] with flags VIRTQ_AVAIL_F_NO_INTERRUPT and no VIRTIO_F_EVENT_IDX, a used request raises no interrupt',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { queue } = await startOwnQueue(session);
    await session.driver.transport.readIsr();
    await queue.writeAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    const seen = await requestAndLook(session, queue, false);
    if (judgeIsr(judgement, seen, 'after a request with flags 1'))
      judgement.fail('dev.vq.no-interrupt', {
        expected: 'no used buffer notification: the driver set VIRTQ_AVAIL_F_NO_INTERRUPT',
        message: `PCI Status interrupt bit ${seen.asserted ? 'set' : 'clear'}, ISR status ${hex(seen.isr)}`,
      });
  },
);

tests.it(
  '[dev.vq.used-event] [dev.vq.used-event-quiet] with VIRTIO_F_EVENT_IDX, the device notifies when the used idx it wrote at was used_event, and otherwise not',
  async (session, judgement) => {
    await checkPciPlatform(session);
    if ((session.driver.offered & featureBit(VIRTIO_F_EVENT_IDX)) === 0n)
      throw new NotApplicable('needs VIRTIO_F_EVENT_IDX: not offered');
    const { queue, accepted } = await startOwnQueue(session, {
      features: featureBit(VIRTIO_F_EVENT_IDX),
    });
    if (
      (accepted & featureBit(VIRTIO_F_EVENT_IDX)) === 0n ||
      (accepted & featureBit(VIRTIO_F_VERSION_1)) === 0n
    )
      throw new NotApplicable('VIRTIO_F_EVENT_IDX was not negotiated');
    await session.driver.transport.readIsr();
    // used idx 0 → 1: used_event is 1, so no notification is due.
    await writeUsedEvent(session, queue, 1);
    const first = await requestAndLook(session, queue, false);
    if (judgeIsr(judgement, first, 'request 1 (used idx was 0, used_event 1)'))
      judgement.fail('dev.vq.used-event-quiet', {
        expected: 'no notification: the used idx (0) was not used_event (1)',
        message: `PCI Status interrupt bit ${first.asserted ? 'set' : 'clear'}, ISR status ${hex(first.isr)}`,
      });
    // used idx 1 → 2, used_event 1: due.
    const second = await requestAndLook(session, queue, true);
    if (!judgeIsr(judgement, second, 'request 2 (used idx was 1, used_event 1)'))
      judgement.fail('dev.vq.used-event', {
        expected: 'a notification: the used idx the device wrote at (1) was used_event (1)',
        message: `none within ${NOTIFY_WAIT_MS} ms: ISR status ${hex(second.isr)}`,
      });
    await judgeCleared(session, judgement, 'after request 2');
    // used idx 2 → 3, used_event 2, and the low bit of flags set: the device ignores it.
    await writeUsedEvent(session, queue, 2);
    await queue.writeAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    const third = await requestAndLook(session, queue, true);
    if (!judgeIsr(judgement, third, 'request 3 (used idx was 2, used_event 2, flags 1)'))
      judgement.fail('dev.vq.used-event', {
        expected:
          'a notification: the used idx the device wrote at (2) was used_event (2), and with VIRTIO_F_EVENT_IDX the low bit of flags does not count',
        message: `none within ${NOTIFY_WAIT_MS} ms: ISR status ${hex(third.isr)}`,
      });
    // used idx 3 → 4, used_event still 2: the idx passed it one request ago, so nothing is due
    // (vring_need_event's window is [old idx, new idx), not one entry wider below).
    await queue.writeAvailFlags(0);
    const fourth = await requestAndLook(session, queue, false);
    if (judgeIsr(judgement, fourth, 'request 4 (used idx was 3, used_event 2)'))
      judgement.fail('dev.vq.used-event-quiet', {
        expected:
          'no notification: the used idx (3) was not used_event (2), which it passed before',
        message: `PCI Status interrupt bit ${fourth.asserted ? 'set' : 'clear'}, ISR status ${hex(fourth.isr)}`,
      });
  },
);
