// Device requirements: Capabilities and the common configuration (spec-src/09-transport.md),
// the feature windows as a class: every window a driver can select, the first two and far past
// them (up to the largest select value), read and written, rewritten, and each left as it was
// when another one is written. A device that keeps windows past bit 63, or merges a rewrite
// into what a window held, or fails on a select it does not expect, shows it here.

import { VIRTIO_PCI_COMMON_CFG } from '../../../dist/ts/index.js';
import { VIRTIO_STATUS_ACKNOWLEDGE, VIRTIO_STATUS_DRIVER } from '../../virtio/constants.js';
import { SectionTests, type Judgement } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import { hex } from '../transport-steps.js';
import type { Session } from '../../session.js';

export const section = 'device-requirements-capabilities-and-the-common-configuration';
export const tests = new SectionTests();

/** The windows of offered bits, then windows past bit 63 up to the largest 32-bit select. */
const WINDOWS = [0, 1, 2, 3, 0x10, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

const { device_feature_select, device_feature, driver_feature_select, driver_feature } =
  VIRTIO_PCI_COMMON_CFG;

function word(features: bigint, select: number): number {
  return select > 1 ? 0 : Number((features >> BigInt(32 * select)) & 0xffff_ffffn);
}

async function readWindow(session: Session, select: number): Promise<number> {
  const { common } = session.driver.transport;
  await common.write32(driver_feature_select.offset, select);
  return (await common.read32(driver_feature.offset)) >>> 0;
}

async function writeWindow(session: Session, select: number, value: number): Promise<void> {
  const { common } = session.driver.transport;
  await common.write32(driver_feature_select.offset, select);
  await common.write32(driver_feature.offset, value);
}

/** driver_feature with `select` must read `want`, the valid bits the driver wrote there. */
async function expectWindow(
  session: Session,
  judgement: Judgement,
  select: number,
  want: number,
  after: string,
): Promise<void> {
  const shown = await readWindow(session, select);
  if (shown !== want)
    judgement.fail('dev.pci.driver-feature', {
      expected: `driver_feature ${hex(want)} with driver_feature_select ${hex(select)}, the valid bits written there`,
      message: `after ${after}, driver_feature reads ${hex(shown)} with driver_feature_select ${hex(select)}`,
    });
}

tests.it(
  '[dev.pci.device-feature] [dev.pci.driver-feature] every feature window, past bit 63 up to select 0xffffffff: device_feature shows the offered bits, driver_feature the valid bits last written, and writing one window leaves the others',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const { transport, offered } = session.driver;
    const { common } = transport;
    await transport.reset();
    await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE);
    await transport.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    for (const select of WINDOWS) {
      await common.write32(device_feature_select.offset, select);
      const shown = (await common.read32(device_feature.offset)) >>> 0;
      if (shown !== word(offered, select))
        judgement.fail('dev.pci.device-feature', {
          expected: `device_feature ${hex(word(offered, select))} for device_feature_select ${hex(select)} (offered ${hex(offered)})`,
          message: `device_feature reads ${hex(shown)} with device_feature_select ${hex(select)}`,
        });
    }
    // The two windows of offered bits: written, cleared, written again. Each read-back is
    // the last write's valid bits, not what the window held before.
    for (const select of [0, 1]) {
      const offeredWord = word(offered, select);
      await writeWindow(session, select, offeredWord);
      await expectWindow(session, judgement, select, offeredWord, `writing ${hex(offeredWord)}`);
      await writeWindow(session, select, 0);
      await expectWindow(session, judgement, select, 0, `writing ${hex(offeredWord)}, then 0`);
      await writeWindow(session, select, offeredWord);
      await expectWindow(
        session,
        judgement,
        select,
        offeredWord,
        `writing ${hex(offeredWord)}, 0, then ${hex(offeredWord)} again`,
      );
    }
    // All 32 bits written to one window, offered or not: the valid ones read back there,
    // and the other window shows no valid bit the driver did not write to it.
    for (const [full, other] of [
      [0, 1],
      [1, 0],
    ] as const) {
      await writeWindow(session, other, 0);
      await writeWindow(session, full, 0xffff_ffff);
      const after = `writing 0 to window ${other}, then 0xffffffff to window ${full}`;
      for (const [select, want] of [
        [full, word(offered, full)],
        [other, 0],
      ] as const) {
        const valid = (await readWindow(session, select)) & word(offered, select);
        if (valid >>> 0 !== want)
          judgement.fail('dev.pci.driver-feature', {
            expected: `the valid bits of driver_feature with driver_feature_select ${select}: ${hex(want)}, those written there`,
            message: `after ${after}, its valid bits read ${hex(valid >>> 0)} (offered ${hex(word(offered, select))})`,
          });
      }
    }
    for (const select of [0, 1]) await writeWindow(session, select, word(offered, select));
    // Windows past bit 63: a driver that accepts nothing there writes 0, which is valid.
    for (const select of WINDOWS.filter((s) => s > 1)) {
      await writeWindow(session, select, 0);
      await expectWindow(session, judgement, select, 0, `writing 0 to it`);
    }
    for (const select of [0, 1])
      await expectWindow(
        session,
        judgement,
        select,
        word(offered, select),
        `writing 0 to the windows past bit 63 (${WINDOWS.filter((s) => s > 1)
          .map(hex)
          .join(', ')})`,
      );
  },
);
