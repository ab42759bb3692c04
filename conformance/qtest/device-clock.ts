// How the suite waits for a device: in the device's virtual time where the target lets the
// client step its clock, in host time elsewhere.
//
// A target that answers `clock_step` (device-ref; QEMU built with the qtest accelerator) hands
// its virtual clock (QEMU_CLOCK_VIRTUAL) to the client: time stands still between commands,
// and `clock_step` runs the device's timers (an edu transfer's 100 ms) at once. There a wait
// costs a few round trips, however long it is in virtual time, and something that does not
// happen (a fault report that never comes) is decided once the wait's virtual time has passed.
// Elsewhere (Debian's QEMU, which has no qtest accelerator) virtual time follows host time:
// ask, sleep briefly, ask again, give up at a host-time deadline.
//
// The device's own work runs inside its commands and its timers (device-ref; QEMU under TCG or
// the qtest accelerator, where virtio-pci has no ioeventfd), so with no timer pending, waiting
// longer changes nothing: the rest of a wait is stepped over in one command.
//
// Which of the two a connection has is asked once, with `clock_step 0` (it moves nothing),
// the first time anything on that connection waits; every later wait on it uses the answer.

import type { QtestClient } from './client.js';
import { QtestReplyError } from './errors.js';
import { PollTimeoutError, pollUntil, type PollOptions } from './poll.js';

const NS_PER_MS = 1_000_000n;

export class DeviceClock {
  readonly #qtest: QtestClient;

  private constructor(
    qtest: QtestClient,
    /** True: the client steps the device's virtual time; false: it follows host time. */
    readonly stepped: boolean,
  ) {
    this.#qtest = qtest;
  }

  /** Asks the device once whether it lets the client step its clock. */
  static async detect(qtest: QtestClient): Promise<DeviceClock> {
    try {
      await qtest.command('clock_step 0');
      return new DeviceClock(qtest, true);
    } catch (error) {
      // FAIL/ERR: no clock to step. A closed connection or no reply is the caller's problem.
      if (!(error instanceof QtestReplyError)) throw error;
      return new DeviceClock(qtest, false);
    }
  }

  /**
   * Calls `probe` until it returns something other than undefined, and returns that. Between
   * attempts the device's time runs: stepped to its next timer deadline (or, with no timer
   * pending, to the end of the wait), or slept in host time. Fails with a PollTimeoutError
   * once `timeoutMs` of the device's time have passed.
   */
  async waitFor<T>(probe: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
    if (!this.stepped) return pollUntil(probe, options);
    const limit = BigInt(Math.ceil(options.timeoutMs)) * NS_PER_MS;
    const timedOut = (): PollTimeoutError =>
      new PollTimeoutError(options.what, options.timeoutMs, 'of virtual time');
    let start: bigint | undefined;
    let elapsed = 0n;
    for (;;) {
      const result = await probe();
      if (result !== undefined) return result;
      if (elapsed >= limit) throw timedOut();
      start ??= await this.#step(0n);
      const now = await this.#step();
      if (now - start === elapsed) {
        // No timer is pending, so no time that passes changes anything; let the rest of
        // the wait pass anyway (the device is entitled to all of it) and look a last time.
        await this.#step(limit - elapsed);
        elapsed = limit;
      } else {
        elapsed = now - start;
        // The timer that fired lies beyond the wait: what it did came too late.
        if (elapsed > limit) throw timedOut();
      }
    }
  }

  /**
   * Runs the device's timers that are due next (an edu transfer just started, say) and returns
   * the virtual time in ns; undefined, sending nothing, where time follows host time. Callers
   * may issue it pipelined behind the commands that armed the timer.
   */
  stepToNextTimer(): Promise<bigint> | undefined {
    return this.stepped ? this.#step() : undefined;
  }

  /** `clock_step [NS]`: the virtual time after the step, in ns. */
  async #step(ns?: bigint): Promise<bigint> {
    const reply = await this.#qtest.command(ns === undefined ? 'clock_step' : `clock_step ${ns}`);
    if (!/^\d+$/.test(reply)) {
      throw new QtestReplyError(`clock_step ${ns ?? ''}`.trim(), `OK ${reply}`);
    }
    return BigInt(reply);
  }
}

const clocks = new WeakMap<QtestClient, Promise<DeviceClock>>();

/** The clock of the device behind `qtest`, asked for once per connection. */
export function deviceClock(qtest: QtestClient): Promise<DeviceClock> {
  let clock = clocks.get(qtest);
  if (clock === undefined) {
    clock = DeviceClock.detect(qtest);
    clocks.set(qtest, clock);
    // A connection that broke while asking is asked again (and fails again) next time.
    clock.catch(() => clocks.delete(qtest));
  }
  return clock;
}
