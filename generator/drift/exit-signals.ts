// Cleanups that must also run when the process is told to stop (SIGINT, SIGTERM, SIGHUP)
// while a child runs: kill the child's process group, remove a temporary folder. One set
// of handlers serves every registered cleanup; after running them (newest first) it
// uninstalls itself and raises the signal again, so the process still ends by that signal.

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const cleanups: (() => void)[] = [];

function onSignal(signal: NodeJS.Signals): void {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      cleanup();
    } catch {
      // One failed cleanup must not keep the others from running.
    }
  }
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, signal);
}

/** Runs `cleanup` if a stop signal arrives before the returned function is called. */
export function cleanupOnExitSignal(cleanup: () => void): () => void {
  if (cleanups.length === 0) for (const s of SIGNALS) process.on(s, onSignal);
  cleanups.push(cleanup);
  return () => {
    const i = cleanups.indexOf(cleanup);
    if (i >= 0) cleanups.splice(i, 1);
    if (cleanups.length === 0) for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
}
