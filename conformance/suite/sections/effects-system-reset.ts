// A reset of the whole system through the reset control register of q35 (port 0xcf9, as
// QEMU's ICH9 LPC has it): every PCI function goes back to its power-on state, so the suite
// finds the device again, and `bypass` takes its first value again. A system reset resets the
// device too: right after it, before any driver resets the device, no endpoint is attached.

import {
  VIRTIO_IOMMU_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
} from '../../../dist/ts/index.js';
import { readDeviceConfig } from '../../driver/device-config.js';
import { IommuDriver } from '../../driver/iommu-driver.js';
import { EduDevice } from '../../edu/edu.js';
import { PciBus } from '../../pci/bus.js';
import { PCI_COMMAND } from '../../pci/config.js';
import { PollTimeoutError, pollUntil } from '../../qtest/poll.js';
import { SuiteError } from '../../scenario/expectation.js';
import type { Session } from '../../session.js';
import { featureBit } from '../../virtio/constants.js';
import { VirtioPciTransport } from '../../virtio/pci-transport.js';
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

/**
 * The IOMMU and the edu endpoints set up on the PCI bus again after a system reset (BARs
 * placed, memory decoding and bus mastering on), in the order IommuDriver.open() sets them up,
 * but with no write to the IOMMU's common configuration: the device stays as the reset left it.
 */
async function setUpAgain(
  session: Session,
): Promise<{ transport: VirtioPciTransport; edus: EduDevice[] }> {
  const bus = new PciBus(session.qtest);
  const functions = await bus.enumerate();
  const before = [session.driver.transport.device, ...session.driver.edus.map((e) => e.device)];
  const again = before.map(({ info }) => {
    const found = functions.find(
      (fn) =>
        fn.address.device === info.address.device &&
        fn.address.function === info.address.function &&
        fn.vendorId === info.vendorId &&
        fn.deviceId === info.deviceId,
    );
    if (found === undefined)
      throw new SuiteError(
        `after the system reset, no ${info.vendorId.toString(16)}:${info.deviceId.toString(16)} at slot ${info.address.device}`,
      );
    return found;
  });
  const [iommu, ...edus] = await bus.setUpAll(again);
  const transport = await VirtioPciTransport.open(iommu!);
  return { transport, edus: edus.map((device) => new EduDevice(device)) };
}

tests.it(
  '[dev.init.reset-detached] right after a system reset through port 0xcf9, before the driver resets the device, an endpoint attached before it belongs to no domain: its write reaches no page its domain mapped',
  async (session) => {
    needFeature(session, VIRTIO_IOMMU_F_MAP_UNMAP, 'F_MAP_UNMAP');
    const edu = needEdu(session);
    const config = await startDevice(session);
    // An IOVA in @ram that the domain maps 64 KiB higher: its identity address and its
    // mapping's target are both watched, and told apart.
    const iova = session.ram.base + 0x8000n;
    const range = session.driver.has(VIRTIO_IOMMU_F_INPUT_RANGE) ? config.input_range : undefined;
    if (range !== undefined && (iova < range.start || iova + 0xfffn > range.end))
      throw new Untested(`IOVA 0x${iova.toString(16)} (@ram + 0x8000) is outside input_range`);
    const target = session.ram.base + 0x1_8000n;
    const domain = await domainId(session);
    const endpoint = BigInt(edu.endpointId);
    await expectStatus(session, 'attach', { domain, endpoint }, [VIRTIO_IOMMU_S_OK]);
    const page = {
      domain,
      virt_start: iova,
      virt_end: iova + 0xfffn,
      phys_start: target,
      flags: BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
    };
    await expectStatus(session, 'map', page, [VIRTIO_IOMMU_S_OK]);
    await arm(session, edu, Number(domain));
    const before = await landing(session, edu, iova);
    if (before !== target)
      throw new Untested(
        `before the system reset, the write at IOVA 0x${iova.toString(16)} ${describeLanding(before)}, not at the mapping's 0x${target.toString(16)}`,
      );
    await systemReset(session);

    const { transport, edus } = await setUpAgain(session);
    const again = edus.find((e) => e.endpointId === edu.endpointId)!;
    // Only an endpoint in bypass mode can fill edu's buffer from the staging page now.
    const { bypass } = await readDeviceConfig(transport);
    if ((session.driver.offered & featureBit(VIRTIO_IOMMU_F_BYPASS_CONFIG)) === 0n || bypass !== 1)
      throw new Untested(
        'after the system reset bypass is not 1 (or F_BYPASS_CONFIG is not offered): an unattached endpoint cannot load its DMA buffer',
      );
    await arm(session, again);
    const after = await landing(session, again, iova);
    if (after !== iova)
      fail(
        `the write at IOVA 0x${iova.toString(16)} lands at 0x${iova.toString(16)}: after the reset the endpoint is in no domain, and bypass 1 puts it in bypass mode`,
        `after the system reset, before any device reset, the write ${describeLanding(after)}${after === target ? ": the endpoint still reaches the domain's mapping" : ''}`,
      );
  },
);
