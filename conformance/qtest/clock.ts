// Virtual time. Where the client may own the clock (device-ref, or a QEMU built with the
// qtest accelerator) `clock_step` jumps to the next timer deadline, so a 100 ms edu transfer
// completes at once; Debian's QEMU answers `FAIL Unknown command` and runs on host time, so
// the caller polls instead. The answer is remembered per connection: once one command has
// taken the clock over, time stands still there and every waiter must step it.

import type { QtestClient } from './client.js';
import { QtestReplyError } from './errors.js';

const stepping = new WeakMap<QtestClient, boolean>();

/** Steps `qtest`'s clock to its next deadline; false if the target keeps host time. */
export async function stepClock(qtest: QtestClient): Promise<boolean> {
  if (stepping.get(qtest) === false) return false;
  try {
    await qtest.command('clock_step');
    stepping.set(qtest, true);
    return true;
  } catch (error) {
    if (error instanceof QtestReplyError && /Unknown command/.test(error.reply)) {
      stepping.set(qtest, false);
      return false;
    }
    throw error;
  }
}
