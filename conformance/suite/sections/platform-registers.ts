// The suite's self-check of the platform beyond what every DMA test needs
// (suite/platform-checks.ts): every edu register as QEMU's edu documents it, guest RAM written
// and read across page ends, and virtual time stepped to its end. Like platform-self-check.ts
// it judges nothing of the device: on a sound platform its tags stay untested here; on a
// broken one they are `error`, so no verdict of theirs can be trusted.

import { SectionTests } from '../harness.js';
import {
  checkAccessesAtRamEnd,
  checkClockLimit,
  checkConfigAddressWidth,
  checkEduRegisters,
  checkRamPages,
  checkResetControlResets,
  checkUnclaimedPort,
} from '../platform-checks.js';

export const section = 'device-definitions-map-request';
export const tests = new SectionTests();

const SELF_CHECK =
  'self-check of the platform the DMA judge relies on; judges nothing of the device';

tests.it(
  '[dev.translate.formula] [dev.isolation.domain] self-check: the PCI identity and every register of edu as QEMU documents them, an unclaimed port, 4-byte CONFIG_ADDRESS writes, guest RAM across page ends, qtest accesses at the end of RAM (unbacked, and across it into a BAR), a system reset through 0xcf9 resetting every PCI function, clock_step up to the end of virtual time',
  async (session, judgement) => {
    await checkEduRegisters(session);
    await checkRamPages(session);
    await checkAccessesAtRamEnd(session);
    await checkUnclaimedPort(session);
    await checkConfigAddressWidth(session);
    await checkResetControlResets(session);
    // Last: it leaves virtual time at its end.
    await checkClockLimit(session);
    for (const tag of judgement.tags) judgement.untested(tag, SELF_CHECK);
  },
);
