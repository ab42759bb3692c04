// Test fixture: a QEMU of its own for every test of a `describe` block (q35 +
// virtio-iommu-pci + edu, targets/qemu.ts), started before the test and closed after it,
// whatever the test did.

import type { QtestClient } from '../../qtest/client.js';
import { QemuTarget } from '../../targets/qemu.js';

export interface QemuPerTest {
  /** The running test's QEMU; a test may close it and put another in its place. */
  target: QemuTarget;
  /** Its qtest connection. */
  qtest: QtestClient;
}

/** Adds the hooks to the enclosing `describe`; the fields are the running test's QEMU. */
export function qemuPerTest(): QemuPerTest {
  const qemu = {} as QemuPerTest;
  beforeEach(async () => {
    qemu.target = new QemuTarget();
    qemu.qtest = await qemu.target.start();
  });
  afterEach(() => qemu.target.close());
  return qemu;
}
