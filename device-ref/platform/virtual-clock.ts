// Layer: platform.
// The board's virtual time in nanoseconds (QEMU_CLOCK_VIRTUAL), with timers.
//
// Two ways to move it, so that clients written for either kind of QEMU work unchanged:
// - Until a client sends `clock_step` or `clock_set`, virtual time follows host time, as on
//   a QEMU without the qtest accelerator (Debian's build): a client that polls and sleeps
//   sees a DMA complete 100 ms after it started it.
// - From the first `clock_step`/`clock_set` on, the client owns the clock, as with QEMU's
//   qtest accelerator: time stands still between steps, so a test is deterministic.
// Timers fire lazily, in deadline order, whenever the clock is read or moved: nothing a
// client can observe happens between two of its commands, so that is indistinguishable
// from firing them on time.

export type HostClock = () => bigint;

const I64_MAX = (1n << 63n) - 1n;

interface Timer {
  deadline: bigint;
  sequence: number;
  callback: () => void;
}

export class VirtualClock {
  readonly #hostNow: HostClock;
  readonly #hostStart: bigint;
  #now = 0n;
  #stepped = false;
  #timers: Timer[] = [];
  #sequence = 0;
  /** Set while timers run: a callback that reads the clock sees its own deadline. */
  #running = false;

  constructor(hostNow: HostClock = () => process.hrtime.bigint()) {
    this.#hostNow = hostNow;
    this.#hostStart = hostNow();
  }

  /** The current virtual time, after catching up. */
  now(): bigint {
    this.catchUp();
    return this.#now;
  }

  /** While following host time: moves to it, firing the timers that fell due. */
  catchUp(): void {
    if (!this.#stepped && !this.#running) this.#advanceTo(this.#hostNow() - this.#hostStart);
  }

  /**
   * Before each qtest command: fires the timers that fell due in host time. With no timer
   * pending, catching up would change nothing a client can see (now() catches up itself),
   * so it is skipped: one host clock read less per command.
   */
  fireDueTimers(): void {
    if (this.#timers.length > 0) this.catchUp();
  }

  /** True once a client has taken the clock over with step() or set(). */
  get stepped(): boolean {
    return this.#stepped;
  }

  /**
   * `clock_step [NS]`: advances by `ns`, or without it to the next timer deadline (no move
   * when no timer is pending). A negative `ns` moves nothing. Returns the new time.
   */
  step(ns?: bigint): bigint {
    const now = this.#takeOver();
    const next = this.#timers[0];
    const target = ns === undefined ? (next?.deadline ?? now) : now + ns;
    this.#advanceTo(target > I64_MAX ? I64_MAX : target);
    return this.#now;
  }

  /** `clock_set NS`: advances to `ns`; a time in the past moves nothing. Returns the new time. */
  set(ns: bigint): bigint {
    this.#takeOver();
    this.#advanceTo(ns);
    return this.#now;
  }

  /** Runs `callback` once virtual time reaches `deadline`. */
  at(deadline: bigint, callback: () => void): void {
    const timer: Timer = { deadline, sequence: this.#sequence++, callback };
    this.#timers.push(timer);
    this.#timers.sort((a, b) =>
      a.deadline === b.deadline ? a.sequence - b.sequence : a.deadline < b.deadline ? -1 : 1,
    );
  }

  #takeOver(): bigint {
    const now = this.now();
    this.#stepped = true;
    return now;
  }

  #advanceTo(target: bigint): void {
    this.#running = true;
    try {
      for (;;) {
        const next = this.#timers[0];
        if (next === undefined || next.deadline > target) break;
        this.#timers.shift();
        if (next.deadline > this.#now) this.#now = next.deadline;
        next.callback();
      }
    } finally {
      this.#running = false;
    }
    if (target > this.#now) this.#now = target;
  }
}
