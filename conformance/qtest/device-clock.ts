// How the suite waits for a device: in the device's virtual time where the target lets the
// client step its clock, until the device has settled where the target vouches that it warps
// its clock, in host time elsewhere.
//
// A target that answers `clock_step` (device-ref; QEMU built with the qtest accelerator) hands
// its virtual clock (QEMU_CLOCK_VIRTUAL) to the client: time stands still between commands,
// and `clock_step` runs the device's timers (an edu transfer's 100 ms) at once. There a wait
// costs a few round trips, however long it is in virtual time, and something that does not
// happen (a fault report that never comes) is decided once the wait's virtual time has passed.
//
// The device's own work runs inside its commands and its timers (device-ref; QEMU, whose main
// loop runs its device models between commands), so with no timer pending, waiting longer
// changes nothing: the rest of a wait is stepped over in one command.
//
// A *warped* clock is one the client cannot step but that never leaves the device waiting for
// host time: the QEMU our qemu target spawns (its vCPU halted, `-icount shift=0,sleep=off`, so
// whenever the vCPU idles its virtual clock jumps to the next timer deadline). There the two
// kinds of waits differ:
// - What a command sets off runs in QEMU's main loop: the command's own handler (a notify, on
//   QEMU 7.2 under TCG), an ioeventfd or bottom half dispatched in the next iteration, and
//   whatever those write at once (a used buffer; a fault report, written during the translation, so before
//   edu clears its run bit). Each look at the device is a command sent after the previous
//   reply came, so QEMU reads it in a later main-loop iteration than the last. Once
//   SETTLED_LOOKS such looks in a row found nothing, and SETTLED_GRACE_MS of host time have
//   passed (a margin, not the evidence), the device has nothing left to do however long it is
//   given, and waitFor() ends there. This is counted in the device's iterations, not in host
//   time, so a device that is merely slow under load is waited for all the same.
// - A timer (edu's DMA) fires only once the warp happened, and QEMU warps only while its vCPU
//   thread is idle: after a change to the memory map (a BAR placed, an endpoint attached) that
//   thread must first take the BQL and flush its TLB, which the host schedules when it likes
//   (measured: edu still running after 600 looks in 121 ms at a load of 15). So
//   waitForTimer() keeps a host-time deadline there, as for work on a thread of the device's
//   own (edu's factorial); a transfer still ends at its first look after the warp.
// Only the target can vouch for a warped clock (declareWarpedClock).
//
// Elsewhere (a socket to a device we know nothing about; Debian's QEMU started by hand) virtual
// time may follow host time and the device may work on its own: ask, sleep briefly, ask again,
// give up at a host-time deadline.
//
// Which of these a connection has is asked once, with `clock_step 0` (it moves nothing), the
// first time anything on that connection waits, unless its target declared a warped clock; every
// later wait on it uses the answer.

import type { QtestClient } from './client.js';
import { QtestReplyError } from './errors.js';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { PollTimeoutError, pollUntil, type PollOptions } from './poll.js';

const NS_PER_MS = 1_000_000n;

/**
 * Empty looks in a row, each sent after the previous reply, after which a warped device has
 * settled: the command that started the work is handled in one main-loop iteration, what it
 * deferred (an ioeventfd, a bottom half) in the next; two more for margin.
 */
export const SETTLED_LOOKS = 4;
/** Host time a warped device gets at least, however fast the looks came back. */
export const SETTLED_GRACE_MS = 20;

/** How the device's time passes between commands. */
export type ClockKind = 'stepped' | 'warped' | 'host';

export class DeviceClock {
  readonly #qtest: QtestClient;

  private constructor(
    qtest: QtestClient,
    /**
     * `stepped`: the client steps the device's virtual time; `warped`: it jumps to the next
     * timer whenever the device idles (the target vouches for it); `host`: it may follow host
     * time.
     */
    readonly kind: ClockKind,
  ) {
    this.#qtest = qtest;
  }

  /** True where the client steps the device's virtual time (clock_step). */
  get stepped(): boolean {
    return this.kind === 'stepped';
  }

  /** Asks the device once whether it lets the client step its clock. */
  static async detect(qtest: QtestClient): Promise<DeviceClock> {
    try {
      await qtest.command('clock_step 0');
      return new DeviceClock(qtest, 'stepped');
    } catch (error) {
      // FAIL/ERR: no clock to step. A closed connection or no reply is the caller's problem.
      if (!(error instanceof QtestReplyError)) throw error;
      return new DeviceClock(qtest, 'host');
    }
  }

  /** The clock of a device whose target vouches that it warps (see the top of this file). */
  static warped(qtest: QtestClient): DeviceClock {
    return new DeviceClock(qtest, 'warped');
  }

  /**
   * Calls `probe` until it returns something other than undefined, and returns that. Between
   * attempts the device's time runs: stepped to its next timer deadline (or, with no timer
   * pending, to the end of the wait), warped by the device itself, or slept in host time.
   * Fails with a PollTimeoutError once `timeoutMs` of the device's time have passed, or once a
   * warped device has settled without it. Each call of `probe` must ask the device (at least
   * one command, sent after every earlier reply of this wait).
   */
  async waitFor<T>(probe: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
    if (this.kind === 'warped') return this.#untilSettled(probe, options);
    if (this.kind === 'host') return pollUntil(probe, options);
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
   * Like waitFor(), for something a device timer does (an edu transfer) or a thread of the
   * device's own (edu's factorial): stepped to on a stepped clock, else polled for until a
   * host-time deadline, since a warped clock warps only when the host has let QEMU's vCPU
   * thread go idle, and a thread runs when the host schedules it (see the top of this file).
   */
  waitForTimer<T>(probe: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
    return this.kind === 'stepped' ? this.waitFor(probe, options) : pollUntil(probe, options);
  }

  /**
   * A warped device: looks until `probe` answers, or until SETTLED_LOOKS looks in a row found
   * nothing and SETTLED_GRACE_MS have passed, or (a device that keeps itself busy: its timers
   * re-arm for ever) at the wait's host-time deadline.
   */
  async #untilSettled<T>(probe: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
    const began = performance.now();
    for (let looks = 1; ; looks++) {
      const result = await probe();
      if (result !== undefined) return result;
      const waited = performance.now() - began;
      if (looks >= SETTLED_LOOKS && waited >= SETTLED_GRACE_MS) {
        throw new PollTimeoutError(
          options.what,
          options.timeoutMs,
          '',
          `${looks} looks in a row in ${Math.round(waited)} ms found nothing, and the device has nothing left to do`,
        );
      }
      if (waited >= options.timeoutMs) throw new PollTimeoutError(options.what, options.timeoutMs);
      // The looks in a row first, then one last look once the grace has passed.
      if (looks < SETTLED_LOOKS) await nextTurn();
      else await sleep(SETTLED_GRACE_MS - waited);
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
/** The clocks already known, for callers that must issue commands before they next yield. */
const known = new WeakMap<QtestClient, DeviceClock>();

/**
 * For a target only: the device behind `qtest` warps its virtual clock to its next timer
 * whenever it idles, and does nothing between commands but what they and those timers start
 * (see the top of this file). Call it before anything on the connection waits.
 */
export function declareWarpedClock(qtest: QtestClient): void {
  const clock = DeviceClock.warped(qtest);
  known.set(qtest, clock);
  clocks.set(qtest, Promise.resolve(clock));
}

/** The clock of the device behind `qtest`, asked for once per connection. */
export function deviceClock(qtest: QtestClient): Promise<DeviceClock> {
  let clock = clocks.get(qtest);
  if (clock === undefined) {
    clock = DeviceClock.detect(qtest);
    clocks.set(qtest, clock);
    // A connection that broke while asking is asked again (and fails again) next time.
    clock.then(
      (detected) => known.set(qtest, detected),
      () => clocks.delete(qtest),
    );
  }
  return clock;
}

/**
 * The clock of the device behind `qtest` if deviceClock() already knows it, without waiting:
 * awaiting even a settled promise lets the commands issued so far leave on their own.
 */
export function knownDeviceClock(qtest: QtestClient): DeviceClock | undefined {
  return known.get(qtest);
}
