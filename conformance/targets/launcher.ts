// Device processes started by a small launcher process instead of by the suite itself.
//
// Node starts a child by forking the whole process: the kernel copies the page tables of every
// page the parent holds, and the event loop waits until the child has called exec. The suite
// grows to ~300 MB over a QEMU run, and there a spawn cost ~6 ms of CPU and blocked the event
// loop for ~10 ms, once for each of a run's ~290 QEMUs. The launcher is a Node process of
// ~50 MB that does nothing but spawn (launcher-main.ts): it forks in ~1 ms, on its own thread
// of the machine, while the suite goes on. With it, a qemu run's suite took 0.6-0.8 s less CPU
// (conformance README).
//
// One launcher serves the whole process (sharedLauncher()); it is started by the first launch
// and again after it died. It holds the event loop only while a process it started runs. If
// it dies, what it started dies with it (parent-death signal), and each owner is told that the
// process was lost, which is the suite's failure, not the device's.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseEvent, type LauncherEvent, type LauncherRequest } from './launcher-protocol.js';

/** What a launched process tells its owner. */
export interface LaunchHandlers {
  /** Its pid, once the launcher has started it. */
  spawned(pid: number): void;
  /** A piece of what it printed (stdout and stderr). */
  output(text: string): void;
  /**
   * Its end, once, in words: `exited with code 1`, `was killed by SIGKILL`, `could not be
   * started: …`; `lost` when the launcher died under it (it was killed with the launcher).
   */
  ended(status: string, lost: boolean): void;
}

export interface LaunchedProcess {
  /** SIGKILL, if it still runs; its end comes through ended(). */
  kill(): void;
}

const LAUNCHER_MAIN = fileURLToPath(new URL('./launcher-main.js', import.meta.url));

/** Keep this much of what the launcher itself prints, for the message when it dies. */
const LAUNCHER_OUTPUT_LIMIT = 4096;

export class Launcher {
  #process: ChildProcess | undefined;
  #nextId = 1;
  readonly #running = new Map<number, LaunchHandlers>();

  /** The launcher process's pid, while it runs. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /**
   * Starts `command` through the launcher, with this process's environment and working
   * directory as they are now; what it prints and its end go to `handlers`.
   */
  launch(command: string, args: readonly string[], handlers: LaunchHandlers): LaunchedProcess {
    const launcher = this.#process ?? this.#start();
    const id = this.#nextId++;
    this.#running.set(id, handlers);
    this.#holdLoop(true);
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      ),
    );
    this.#send(launcher, { op: 'launch', id, command, args: [...args], env, cwd: process.cwd() });
    return {
      kill: () => {
        if (this.#running.has(id) && this.#process === launcher)
          this.#send(launcher, { op: 'kill', id });
      },
    };
  }

  #send(launcher: ChildProcess, request: LauncherRequest): void {
    launcher.stdin!.write(JSON.stringify(request) + '\n');
  }

  #start(): ChildProcess {
    const launcher =
      process.platform === 'linux'
        ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, LAUNCHER_MAIN], {
            stdio: ['pipe', 'pipe', 'pipe'],
          })
        : spawn(process.execPath, [LAUNCHER_MAIN], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#process = launcher;
    let printed = '';
    launcher.stderr!.on('data', (chunk: Buffer) => {
      printed = (printed + chunk.toString('utf8')).slice(-LAUNCHER_OUTPUT_LIMIT);
    });
    launcher.stdin!.on('error', () => {
      // The launcher is gone; 'close' below tells every process's owner.
    });
    createInterface({ input: launcher.stdout! }).on('line', (line) => {
      const event = parseEvent(line);
      if (event !== undefined) this.#onEvent(event);
    });
    const lost = (why: string): void => {
      if (this.#process !== launcher) return;
      this.#process = undefined;
      const output = printed.trim() === '' ? '' : `; its output:\n${printed.trim()}`;
      const running = [...this.#running.values()];
      this.#running.clear();
      for (const handlers of running)
        handlers.ended(`was lost: the process launcher ${why}${output}`, true);
    };
    launcher.once('error', (error) => lost(`could not be started: ${error.message}`));
    launcher.once('close', (code, signal) => lost(describeEnd(code, signal)));
    return launcher;
  }

  #onEvent(event: LauncherEvent): void {
    const handlers = this.#running.get(event.id);
    if (handlers === undefined) return;
    if ('pid' in event) handlers.spawned(event.pid);
    else if ('output' in event) handlers.output(event.output);
    else {
      this.#running.delete(event.id);
      if (this.#running.size === 0) this.#holdLoop(false);
      handlers.ended(
        'error' in event
          ? `could not be started: ${event.error}`
          : describeEnd(event.exit.code, event.exit.signal),
        false,
      );
    }
  }

  /** The launcher keeps this process alive only while something it started runs. */
  #holdLoop(hold: boolean): void {
    const launcher = this.#process;
    if (launcher === undefined) return;
    for (const handle of [launcher, launcher.stdin, launcher.stdout, launcher.stderr] as const) {
      const refable = handle as unknown as { ref?: () => void; unref?: () => void } | null;
      if (hold) refable?.ref?.();
      else refable?.unref?.();
    }
  }
}

/** How a process ended, in words. */
export function describeEnd(code: number | null, signal: string | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}

let shared: Launcher | undefined;

/** The process's launcher. */
export function sharedLauncher(): Launcher {
  return (shared ??= new Launcher());
}
