// Waiting on a device without a clock to step (Debian's QEMU has no qtest accelerator, so
// virtual time follows host time): ask, sleep briefly, ask again, give up at a deadline.
// Where the device's clock can be stepped, device-clock.ts waits in virtual time instead.

import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

export interface PollOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** For the error message: "used ring of queue 0 to move". */
  what: string;
  /** Sleep between attempts once the first quick retries found nothing (default 1 ms). */
  intervalMs?: number;
}

export class PollTimeoutError extends Error {
  override name = 'PollTimeoutError';
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    /** Whose time ran out, for the message: host time unless told. */
    readonly clock = '',
    /** Why the wait ended before its time ran out, if it did (instead of "timed out"). */
    readonly settled?: string,
  ) {
    super(
      settled === undefined
        ? `timed out after ${timeoutMs} ms${clock === '' ? '' : ` ${clock}`} waiting for ${what}`
        : `gave up waiting for ${what}: ${settled}`,
    );
  }
}

/** Retries immediately after each reply. */
const QUICK_ATTEMPTS = 4;

/** Calls `probe` until it returns something other than undefined, and returns that. */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined>,
  options: PollOptions,
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const result = await probe();
    if (result !== undefined) return result;
    if (performance.now() >= deadline) throw new PollTimeoutError(options.what, options.timeoutMs);
    if (attempt < QUICK_ATTEMPTS) await nextTurn();
    else await sleep(options.intervalMs ?? 1);
  }
}
