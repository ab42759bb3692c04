// Device requirements: Capabilities and the common configuration (spec-src/09-transport.md),
// queue reset with VIRTIO_F_RING_RESET: _queue_reset_ reads 0 after a device reset and once
// the queue is enabled; 1 written there resets the selected queue, which then shows 0 in
// _queue_reset_ and _queue_enable_; set up again on fresh rings, the queue starts from index 0
// (a device that kept its old ring indices would never see the new request).

import { VIRTIO_PCI_COMMON_CFG, VIRTQUEUE } from '../../../dist/ts/index.js';
import { deviceClock } from '../../qtest/device-clock.js';
import type { Session } from '../../session.js';
import { featureBit } from '../../virtio/constants.js';
import { SplitVirtqueue } from '../../virtio/split-virtqueue.js';
import { NotApplicable, SectionTests, type Judgement } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import { hex, startOwnQueue, submitHarmless } from '../transport-steps.js';

export const section = 'device-requirements-capabilities-and-the-common-configuration';
export const tests = new SectionTests();

/** Feature bit: the driver may reset one virtqueue through queue_reset (virtio 1.4). */
const VIRTIO_F_RING_RESET = 40;
/** How long a queue reset may go on. */
const RESET_WAIT_MS = 1000;
/** Requests before the queue reset: its ring indices are then not where a fresh queue starts. */
const REQUESTS_BEFORE = 3;

async function readQueueRegister(
  session: Session,
  field: 'queue_reset' | 'queue_enable',
): Promise<number> {
  const { common } = session.driver.transport;
  const [, value] = await Promise.all([
    common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, VIRTQUEUE.requestq),
    common.read16(VIRTIO_PCI_COMMON_CFG[field].offset),
  ]);
  return value;
}

async function expectResetZero(session: Session, judgement: Judgement, when: string) {
  const value = await readQueueRegister(session, 'queue_reset');
  if (value !== 0)
    judgement.fail('dev.pci.queue-reset-zero', {
      expected: `queue_reset 0 ${when}, with VIRTIO_F_RING_RESET negotiated`,
      message: `queue_reset of the request queue reads ${hex(value)} ${when}`,
    });
}

tests.it(
  '[dev.pci.queue-reset] [dev.pci.queue-reset-zero] with VIRTIO_F_RING_RESET, queue_reset reads 0 after a reset and once enabled; 1 written there resets the request queue, which then reads 0 in queue_reset and queue_enable and, set up again on fresh rings, answers from index 0',
  async (session, judgement) => {
    await checkPciPlatform(session);
    if ((session.driver.offered & featureBit(VIRTIO_F_RING_RESET)) === 0n)
      throw new NotApplicable('needs VIRTIO_F_RING_RESET: not offered');
    const { transport, queue, accepted } = await startOwnQueue(session, {
      features: featureBit(VIRTIO_F_RING_RESET),
    });
    if ((accepted & featureBit(VIRTIO_F_RING_RESET)) === 0n)
      throw new NotApplicable('VIRTIO_F_RING_RESET was not negotiated');
    await expectResetZero(session, judgement, 'once the queue is enabled');
    for (let i = 0; i < REQUESTS_BEFORE; i++) await submitHarmless(session, queue);

    const { common } = transport;
    await common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, VIRTQUEUE.requestq);
    await common.write16(VIRTIO_PCI_COMMON_CFG.queue_reset.offset, 1);
    const clock = await deviceClock(session.qtest);
    let shown = await readQueueRegister(session, 'queue_reset');
    if (shown === 1)
      shown = await clock
        .waitFor(
          async () => {
            const value = await readQueueRegister(session, 'queue_reset');
            return value === 1 ? undefined : value;
          },
          { timeoutMs: RESET_WAIT_MS, what: 'queue_reset to read 0 after the queue reset' },
        )
        .catch(() => 1);
    const enable = await readQueueRegister(session, 'queue_enable');
    if (shown !== 0 || enable !== 0) {
      judgement.fail('dev.pci.queue-reset', {
        expected:
          'queue_reset 1 while the queue reset goes on, then 0 in queue_reset and queue_enable',
        message: `after 1 was written to queue_reset: queue_reset ${hex(shown)}${shown === 1 ? ` still after ${RESET_WAIT_MS} ms` : ''}, queue_enable ${hex(enable)}`,
      });
      return;
    }
    // Set up again on fresh (zeroed) rings elsewhere: avail idx 1 after one request.
    const fresh = await SplitVirtqueue.create(
      transport,
      VIRTQUEUE.requestq,
      session.memory.allocate(0x2_0000),
      { size: queue.addresses.size, timeoutMs: RESET_WAIT_MS },
    );
    await expectResetZero(session, judgement, 'once the queue is enabled again after its reset');
    try {
      await submitHarmless(session, fresh);
    } catch (error) {
      judgement.fail('dev.pci.queue-reset', {
        expected:
          'the queue reset: set up again on fresh rings, it serves a request at avail idx 0',
        message: `after ${REQUESTS_BEFORE} requests, a queue reset and a new set-up, the request at index 0 was not answered: ${(error as Error).message}`,
      });
    }
  },
);

tests.it(
  '[dev.pci.queue-reset-zero] with VIRTIO_F_RING_RESET negotiated, queue_reset reads 0 after a device reset',
  async (session, judgement) => {
    await checkPciPlatform(session);
    if ((session.driver.offered & featureBit(VIRTIO_F_RING_RESET)) === 0n)
      throw new NotApplicable('needs VIRTIO_F_RING_RESET: not offered');
    const { transport } = session.driver;
    await startOwnQueue(session, { features: featureBit(VIRTIO_F_RING_RESET) });
    // A queue reset written and a device reset right behind it: queue_reset 0 afterwards.
    await Promise.all([
      transport.common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, VIRTQUEUE.requestq),
      transport.common.write16(VIRTIO_PCI_COMMON_CFG.queue_reset.offset, 1),
    ]);
    await transport.reset();
    await transport.negotiate(featureBit(VIRTIO_F_RING_RESET));
    await expectResetZero(session, judgement, 'after a device reset');
  },
);
