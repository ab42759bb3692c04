// The suite's self-check of the platform its DMA judge stands on (suite/platform-checks.ts):
// edu's identification register, its DMA gates (dma_mask, bus mastering) and the qtest
// layer's memory and clock commands. It judges
// nothing of the device: on a sound platform its tags stay untested here (their own tests
// judge them); on a broken one they are `error`, so no verdict of theirs can be trusted.

import { SectionTests } from '../harness.js';
import {
  checkClockSetTakesOver,
  checkClockStep,
  checkEdu,
  checkEduDmaGates,
  checkQtestMemory,
} from '../platform-checks.js';

export const section = 'device-definitions-map-request';
export const tests = new SectionTests();

const SELF_CHECK =
  'self-check of the platform the DMA judge relies on; judges nothing of the device';

tests.it(
  '[dev.translate.formula] [dev.isolation.domain] self-check: clock_set takes the clock over, edu identifies itself, qtest memset fills RAM and nothing beyond it, clock_step moves virtual time by what it is asked',
  async (session, judgement) => {
    // First: before anything steps the clock.
    await checkClockSetTakesOver(session);
    await checkEdu(session);
    await checkQtestMemory(session);
    await checkClockStep(session);
    for (const tag of judgement.tags) judgement.untested(tag, SELF_CHECK);
  },
);

tests.it(
  "[dev.translate.formula] [dev.isolation.domain] self-check: edu's DMA drops the bits above dma_mask and issues nothing with bus mastering off; clock_step without NS runs its transfer",
  async (session, judgement) => {
    await checkEduDmaGates(session);
    for (const tag of judgement.tags) judgement.untested(tag, SELF_CHECK);
  },
);
