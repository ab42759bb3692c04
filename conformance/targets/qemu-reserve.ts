// QEMUs for a run's tests, started ahead: each test still gets a QEMU of its own, fresh from
// start-up and used by no one before, but that QEMU was started while the tests before it ran,
// and it is killed at the test's end without the next test waiting for it to be gone.
//
// A QEMU's start-up (spawn, machine set-up, the qtest handshake) takes ~20 ms on an idle
// machine and half a second on a loaded one; its end (the kill, its exit, its folder removed)
// up to a few hundred ms more. One test after another on a lane, both were most of a QEMU
// run's time. A QEMU waiting in the reserve idles: its vCPU is halted in our firmware and,
// without the PIT, no timer wakes it (qemu.ts).

import type { QtestClient } from '../qtest/client.js';
import type { QemuTarget } from './qemu.js';
import type { JudgeWindow, Target } from './target.js';

/** A QEMU of the reserve: its target and its start-up, under way or done. */
interface StartingQemu {
  target: QemuTarget;
  started: Promise<QtestClient>;
}

export class QemuReserve {
  readonly #create: () => QemuTarget;
  readonly #ahead: number;
  /** Started for tests that have not asked yet, oldest first. */
  readonly #waiting: StartingQemu[] = [];
  /** Taken by a test and not yet closed. */
  readonly #inUse = new Set<QemuTarget>();
  /** Ends under way: close() waits for them. */
  readonly #ending = new Set<Promise<void>>();
  /** Never started: what every QEMU of the reserve is (description, RAM). */
  readonly #sample: QemuTarget;
  #closed = false;

  /** `ahead`: QEMUs kept starting or started for the tests to come. */
  constructor(create: () => QemuTarget, ahead: number) {
    this.#create = create;
    this.#ahead = ahead;
    this.#sample = create();
  }

  /** A target for one test: a QEMU of the reserve; description, RAM and chipset as `create()`'s. */
  target(judgeWindow?: JudgeWindow): Target {
    const { description, ramSize, chipset } = this.#sample;
    let taken: QemuTarget | undefined;
    return {
      description,
      ramSize,
      chipset,
      ...(judgeWindow !== undefined && { judgeWindow }),
      start: (): Promise<QtestClient> => {
        if (taken !== undefined)
          return Promise.reject(new Error(`${description}: already started`));
        if (this.#closed) return Promise.reject(new Error(`${description}: already closed`));
        const next = this.#take();
        taken = next.target;
        return next.started;
      },
      close: (): Promise<void> => {
        if (taken !== undefined) this.#end(taken);
        taken = undefined;
        return Promise.resolve();
      },
    };
  }

  /** Starts QEMUs for the first tests now, so that their start-up overlaps the run's own. */
  warmUp(): void {
    this.#topUp();
  }

  /** Ends every QEMU of the reserve, waiting ones and those in use, and waits until all are gone. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { target } of this.#waiting.splice(0)) this.#end(target);
    for (const target of this.#inUse) this.#end(target);
    while (this.#ending.size > 0) await Promise.all(this.#ending);
  }

  #take(): StartingQemu {
    const next = this.#waiting.shift() ?? this.#launch();
    this.#inUse.add(next.target);
    this.#topUp();
    return next;
  }

  #topUp(): void {
    while (!this.#closed && this.#waiting.length < this.#ahead) this.#waiting.push(this.#launch());
  }

  #launch(): StartingQemu {
    const target = this.#create();
    const started = target.start();
    // A start-up that fails is reported to the test that takes it.
    started.catch(() => undefined);
    return { target, started };
  }

  /** Kills the QEMU now (QemuTarget.close() sends the signal before it first waits); its end goes on meanwhile. */
  #end(target: QemuTarget): void {
    this.#inUse.delete(target);
    const ending = target.close().catch(() => undefined);
    this.#ending.add(ending);
    void ending.finally(() => this.#ending.delete(ending));
  }
}
