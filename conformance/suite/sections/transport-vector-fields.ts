// Device requirements: Capabilities and the common configuration (spec-src/09-transport.md),
// the fields that say where events go: the MSI-X vector fields (virtio-pci "MSI-X Vector
// Configuration") and, when VIRTIO_F_ADMIN_VQ is offered, the administration virtqueues'
// index range.

import { VIRTIO_PCI_COMMON_CFG } from '../../../dist/ts/index.js';
import type { Session } from '../../session.js';
import { featureBit } from '../../virtio/constants.js';
import { SectionTests, Untested, type Judgement } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import { hex } from '../transport-steps.js';

export const section = 'device-requirements-capabilities-and-the-common-configuration';
export const tests = new SectionTests();

const NO_VECTOR = 0xffff;
/** Feature bit: the device has administration virtqueues (virtio 1.4). */
export const VIRTIO_F_ADMIN_VQ = 41;

/** config_msix_vector, then queue_msix_vector of every queue, as the device shows them. */
async function vectorFields(session: Session): Promise<Array<[string, number]>> {
  const { common } = session.driver.transport;
  const fields: Array<[string, number]> = [
    ['config_msix_vector', await common.read16(VIRTIO_PCI_COMMON_CFG.config_msix_vector.offset)],
  ];
  const count = await common.read16(VIRTIO_PCI_COMMON_CFG.num_queues.offset);
  for (let index = 0; index < count; index++) {
    const [, vector] = await Promise.all([
      common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, index),
      common.read16(VIRTIO_PCI_COMMON_CFG.queue_msix_vector.offset),
    ]);
    fields.push([`queue_msix_vector of queue ${index}`, vector]);
  }
  return fields;
}

async function expectUnmapped(session: Session, judgement: Judgement, when: string) {
  for (const [field, vector] of await vectorFields(session))
    if (vector !== NO_VECTOR)
      judgement.fail('dev.pci.msix-reset-unmapped', {
        expected: `${field} NO_VECTOR (0xffff) ${when}`,
        message: `${field} reads ${hex(vector)} ${when}`,
      });
}

tests.it(
  '[dev.pci.msix-vector-read] [dev.pci.msix-reset-unmapped] the MSI-X vector fields read NO_VECTOR after a reset, read back vector 0 or NO_VECTOR once the driver maps it, and NO_VECTOR again after the next reset',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { transport } = session.driver;
    const { common } = transport;
    await transport.reset();
    await expectUnmapped(session, judgement, 'after a reset');
    // Map every event to vector 0: the device either maps it (reads 0) or could not (NO_VECTOR).
    await common.write16(VIRTIO_PCI_COMMON_CFG.config_msix_vector.offset, 0);
    const count = await common.read16(VIRTIO_PCI_COMMON_CFG.num_queues.offset);
    for (let index = 0; index < count; index++)
      await Promise.all([
        common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, index),
        common.write16(VIRTIO_PCI_COMMON_CFG.queue_msix_vector.offset, 0),
      ]);
    for (const [field, vector] of await vectorFields(session))
      if (vector !== 0 && vector !== NO_VECTOR)
        judgement.fail('dev.pci.msix-vector-read', {
          expected: `${field} 0 (the vector the driver mapped) or NO_VECTOR (the mapping failed)`,
          message: `${field} reads ${hex(vector)} after the driver wrote 0`,
        });
    await transport.reset();
    await expectUnmapped(session, judgement, 'after a reset that followed mapping vector 0');
  },
);

tests.it(
  '[dev.pci.admin-queue-index] with VIRTIO_F_ADMIN_VQ negotiated, admin_queue_index is at least num_queues and admin_queue_num fits below 0x10000',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { transport } = session.driver;
    // The offered-features test negotiates ADMIN_VQ with everything else; this one alone.
    const { accepted } = await startWith(session, featureBit(VIRTIO_F_ADMIN_VQ));
    if ((accepted & featureBit(VIRTIO_F_ADMIN_VQ)) === 0n) {
      await transport.reset();
      throw new Untested(
        'VIRTIO_F_ADMIN_VQ is not offered: admin_queue_index and admin_queue_num mean nothing here',
      );
    }
    await judgeAdminQueues(session, judgement);
    await transport.reset();
  },
);

/** Resets the device and negotiates `features` that it offers (VERSION_1 always). */
async function startWith(session: Session, features: bigint) {
  const { transport } = session.driver;
  await transport.reset();
  return transport.negotiate(features & session.driver.offered);
}

/** dev.pci.admin-queue-index, on a device where VIRTIO_F_ADMIN_VQ was negotiated. */
export async function judgeAdminQueues(session: Session, judgement: Judgement): Promise<void> {
  const { common } = session.driver.transport;
  const [queues, index, num] = await Promise.all([
    common.read16(VIRTIO_PCI_COMMON_CFG.num_queues.offset),
    common.read16(VIRTIO_PCI_COMMON_CFG.admin_queue_index.offset),
    common.read16(VIRTIO_PCI_COMMON_CFG.admin_queue_num.offset),
  ]);
  if (index < queues || num > 0x10000 - index)
    judgement.fail('dev.pci.admin-queue-index', {
      expected: `admin_queue_index ≥ num_queues (${queues}) and admin_queue_num ≤ 0x10000 − admin_queue_index`,
      message: `with VIRTIO_F_ADMIN_VQ negotiated, admin_queue_index reads ${index} and admin_queue_num ${num}`,
    });
}
