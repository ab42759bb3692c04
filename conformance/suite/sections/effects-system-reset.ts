// A reset of the whole system through the reset control register of q35 (port 0xcf9, as
// QEMU's ICH9 LPC has it): every PCI function goes back to its power-on state, so the suite
// finds the device again, and `bypass` takes its first value again.

import {
  VIRTIO_IOMMU_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_S_OK,
} from '../../../dist/ts/index.js';
import { IommuDriver } from '../../driver/iommu-driver.js';
import { PCI_COMMAND } from '../../pci/config.js';
import { PollTimeoutError, pollUntil } from '../../qtest/poll.js';
import { SuiteError } from '../../scenario/expectation.js';
import type { Session } from '../../session.js';
import { featureBit } from '../../virtio/constants.js';
import {
  domainId,
  expectStatus,
  fail,
  needEdu,
  needFeature,
  startDevice,
} from '../device-steps.js';
import { arm, describeLanding, landing } from '../effects.js';
import { SectionTests, Untested } from '../harness.js';

export const section = 'effects-of-a-system-reset';
export const tests = new SectionTests();

const RESET_CONTROL = 0xcf9;
/** SYS_RST | RST_CPU: a hard reset of the whole system. */
const HARD_RESET = 0x6;
const RESET_TIMEOUT_MS = 2000;

/** Resets the system and waits until the IOMMU function shows it (COMMAND back to 0). */
async function systemReset(session: Session): Promise<void> {
  const device = session.driver.transport.device;
  const address = device.info.address;
  await session.qtest.outb(RESET_CONTROL, HARD_RESET);
  try {
    await pollUntil(
      async () => ((await device.config.read16(address, PCI_COMMAND)) === 0 ? true : undefined),
      { timeoutMs: RESET_TIMEOUT_MS, what: 'the system reset to clear COMMAND', intervalMs: 2 },
    );
  } catch (error) {
    if (!(error instanceof PollTimeoutError)) throw error;
    const what = `a write of 0x${HARD_RESET.toString(16)} to port 0x${RESET_CONTROL.toString(16)} did not reset the system within ${RESET_TIMEOUT_MS} ms`;
    // A target that says it is q35 promised the reset control register: the platform broke.
    if (session.target.chipset === 'q35')
      throw new SuiteError(`${what}, though the target is a q35 board`);
    throw new Untested(`${what} (no q35 reset control register)`);
  }
}

tests.it(
  '[dev.config.bypass-system-reset] after a system reset through port 0xcf9, bypass has its first value again, and unattached DMA follows it',
  async (session) => {
    needFeature(session, VIRTIO_IOMMU_F_BYPASS_CONFIG, 'F_BYPASS_CONFIG');
    const edu = needEdu(session);
    const choice = { decline: featureBit(VIRTIO_IOMMU_F_BYPASS) };
    const first = (await startDevice(session, choice)).bypass;
    const other = first === 1 ? 0 : 1;
    await session.driver.writeConfig('bypass', BigInt(other));
    if ((await session.driver.readConfig()).bypass !== other)
      throw new Untested(`bypass does not take the value ${other}`);
    // The endpoint's buffer is filled while it reaches the staging page through a domain.
    const fields = { domain: await domainId(session), endpoint: BigInt(edu.endpointId) };
    await expectStatus(session, 'attach', fields, [VIRTIO_IOMMU_S_OK]);
    await arm(session, edu, Number(fields.domain));
    await systemReset(session);

    const driver = await IommuDriver.open(session.qtest, session.memory);
    const after: Session = { ...session, driver };
    await startDevice(after, choice);
    const bypass = (await driver.readConfig()).bypass;
    if (bypass !== first)
      fail(
        `bypass ${first}, its first value`,
        `bypass reads ${bypass} after the system reset (it was ${first}, then the driver wrote ${other})`,
      );
    // The endpoint is unattached again: its DMA shows the bypass state the device acts on.
    const again = driver.edu!;
    const rejoin = { domain: await domainId(after), endpoint: BigInt(again.endpointId) };
    await expectStatus(after, 'attach', rejoin, [VIRTIO_IOMMU_S_OK]);
    await arm(after, again, Number(rejoin.domain));
    await expectStatus(after, 'detach', rejoin, [VIRTIO_IOMMU_S_OK]);
    const iova = session.ram.base + 0x8000n;
    const expected = first === 1 ? iova : 'blocked';
    const got = await landing(after, again, iova);
    if (got !== expected)
      fail(
        `an unattached endpoint's write ${describeLanding(expected)}, as bypass ${first} says`,
        `after the system reset, bypass reads ${bypass} but the write ${describeLanding(got)}`,
      );
  },
);
