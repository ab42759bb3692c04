// Device processes started by a small helper process instead of by the suite itself.
//
// Node starts a child by forking the whole process: the kernel copies the page tables of every
// page the parent holds, and the event loop waits until the child has called exec. The suite
// grows to ~300 MB over a QEMU run, and there a spawn cost ~6 ms of CPU and blocked the event
// loop for ~10 ms; a QEMU run spawns one QEMU per test, so this was ~1.5 s of the suite's CPU
// and ~3 s of its main thread. The launcher is a Node process of ~50 MB that does nothing but
// spawn: it forks in ~1 ms, on its own thread of the machine, while the suite goes on.
//
// One launcher serves the whole process (sharedLauncher()); it is started by the first launch
// and again after it died. It holds the event loop only while a process it started runs.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseEvent, type LauncherEvent, type LauncherRequest } from './launcher-protocol.js';

/** What a launched process tells its owner. */
export interface LaunchHandlers {
  /** Its pid, once the launcher has started it. */
  spawned(pid: number): void;
  /** A piece of what it printed (stdout and stderr). */
  output(text: string): void;
  /** Its end, once, in words: `exited with code 1`, `was killed by SIGKILL`, `could not be started: …`. */
  ended(status: string): void;
}

export interface LaunchedProcess {
  /** SIGKILL, if it still runs; its end comes through ended(). */
  kill(): void;
}

const HELPER = fileURLToPath(new URL('./launcher-main.js', import.meta.url));

/** Keep this much of what the launcher itself prints, for the message when it dies. */
const HELPER_OUTPUT_LIMIT = 4096;

export class Launcher {
  #helper: ChildProcess | undefined;
  #nextId = 1;
  readonly #running = new Map<number, LaunchHandlers>();

  /** The launcher process's pid, while it runs. */
  get pid(): number | undefined {
    return this.#helper?.pid;
  }

  /** Starts `command` through the launcher; what it prints and its end go to `handlers`. */
  launch(command: string, args: readonly string[], handlers: LaunchHandlers): LaunchedProcess {
    const helper = this.#helper ?? this.#start();
    const id = this.#nextId++;
    this.#running.set(id, handlers);
    this.#holdLoop(true);
    this.#send(helper, { launch: id, command, args: [...args] });
    return {
      kill: () => {
        if (this.#running.has(id) && this.#helper === helper) this.#send(helper, { kill: id });
      },
    };
  }

  #send(helper: ChildProcess, request: LauncherRequest): void {
    helper.stdin!.write(JSON.stringify(request) + '\n');
  }

  #start(): ChildProcess {
    // The launcher dies with us even when we are killed outright; what it started dies with it.
    const helper =
      process.platform === 'linux'
        ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, HELPER], {
            stdio: ['pipe', 'pipe', 'pipe'],
          })
        : spawn(process.execPath, [HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#helper = helper;
    let printed = '';
    helper.stderr!.on('data', (chunk: Buffer) => {
      printed = (printed + chunk.toString('utf8')).slice(-HELPER_OUTPUT_LIMIT);
    });
    helper.stdin!.on('error', () => {
      // The launcher is gone; 'close' below tells every process's owner.
    });
    createInterface({ input: helper.stdout! }).on('line', (line) => {
      const event = parseEvent(line);
      if (event !== undefined) this.#take(event);
    });
    const lost = (why: string): void => {
      if (this.#helper !== helper) return;
      this.#helper = undefined;
      const output = printed.trim() === '' ? '' : `; its output:\n${printed.trim()}`;
      const running = [...this.#running.values()];
      this.#running.clear();
      this.#holdLoop(false);
      for (const handlers of running)
        handlers.ended(`was lost: the process launcher ${why}${output}`);
    };
    helper.once('error', (error) => lost(`could not be started: ${error.message}`));
    helper.once('close', (code, signal) => lost(endOf(code, signal)));
    return helper;
  }

  #take(event: LauncherEvent): void {
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
          : endOf(event.exit.code, event.exit.signal),
      );
    }
  }

  /** The launcher keeps the process alive only while something it started runs. */
  #holdLoop(hold: boolean): void {
    const helper = this.#helper;
    if (helper === undefined) return;
    for (const handle of [helper, helper.stdin, helper.stdout, helper.stderr] as const) {
      const refable = handle as unknown as { ref?: () => void; unref?: () => void } | null;
      if (hold) refable?.ref?.();
      else refable?.unref?.();
    }
  }
}

/** How a process ended, in words. */
export function endOf(code: number | null, signal: string | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}

let shared: Launcher | undefined;

/** The process's launcher. */
export function sharedLauncher(): Launcher {
  return (shared ??= new Launcher());
}
