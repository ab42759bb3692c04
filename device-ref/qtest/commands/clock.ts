// Layer: qtest.
// clock_step [NS] and clock_set NS → OK <virtual time in ns>, as with QEMU's qtest
// accelerator. Debian's QEMU, which has no such accelerator, answers "FAIL Unknown command".

import type { QtestCommand } from './command.js';

export const clockStep: QtestCommand = {
  usage: 'clock_step [NS]',
  run(args, target) {
    return `OK ${target.clockStep(args.has(1) ? BigInt(args.signed(1)) : undefined)}`;
  },
};

export const clockSet: QtestCommand = {
  usage: 'clock_set NS',
  run(args, target) {
    return `OK ${target.clockSet(BigInt(args.signed(1)))}`;
  },
};
