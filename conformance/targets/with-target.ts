// The one way to use a selected target: withTarget() opens it, hands it to the caller, and
// closes it on every path — the caller's normal end, an error it throws, and SIGINT/SIGTERM
// (Ctrl-C, `kill`, `timeout`) while it runs. A target left open keeps what it started (the
// run's device-ref server, a test's QEMU, their temp dirs) and with it the event loop, so a
// command that forgets to close never ends.

import { selectTarget, type SelectedTarget, type TargetChoice } from './select.js';

/** How long a signal waits for the open targets to close before the process dies anyway. */
const CLOSE_ON_SIGNAL_MS = 5000;

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The runs under way, each with its close (one close per run, however many ask for it). */
const open = new Map<SelectedTarget, () => Promise<void>>();

/** The signal that came, if one did: the targets are closing and the process dies of it. */
let interruptedBy: NodeJS.Signals | undefined;

/**
 * After a signal no caller's code goes on (it would see its devices vanish and could write
 * reports of failures that are none): it waits here until the signal ends the process.
 */
const untilDeath = (): Promise<never> => new Promise<never>(() => {});

export async function withTarget<T>(
  choice: TargetChoice,
  use: (selected: SelectedTarget) => Promise<T>,
): Promise<T> {
  if (interruptedBy !== undefined) return untilDeath();
  const selected = selectTarget(choice);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= selected.close());
  open.set(selected, close);
  watchSignals(true);
  try {
    return await use(selected);
  } finally {
    open.delete(selected);
    if (interruptedBy !== undefined) {
      await close().catch(() => undefined);
      await untilDeath();
    }
    if (open.size === 0) watchSignals(false);
    await close();
  }
}

/**
 * Closes every open target, then dies of the same signal (so the exit status still says
 * "interrupted"). A signal that comes while closing (a terminal's Ctrl-C reaches a whole
 * process group, a parent may pass the same one on) is absorbed: the close is bounded anyway.
 */
function closeAllThenDie(signal: NodeJS.Signals): void {
  if (interruptedBy !== undefined) return;
  interruptedBy = signal;
  const closing = [...open.values()].map((close) => close().catch(() => undefined));
  let timer: NodeJS.Timeout | undefined;
  void Promise.race([
    Promise.all(closing),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_ON_SIGNAL_MS))),
  ]).then(() => {
    clearTimeout(timer);
    watchSignals(false);
    process.kill(process.pid, signal);
  });
}

/** Our handler on SIGINT and SIGTERM, once (on), or none (off). */
function watchSignals(on: boolean): void {
  for (const signal of SIGNALS) {
    process.off(signal, closeAllThenDie);
    if (on) process.on(signal, closeAllThenDie);
  }
}
