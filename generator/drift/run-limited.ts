// Runs a tool (the C compiler) on input we do not trust, within limits: CPU time, address
// space, size of the files it writes and of the messages it prints, and wall-clock time.
// The kernel enforces the first three (setrlimit, through POSIX `ulimit` in /bin/sh: the
// script is a constant and every value reaches it as an argument, never as shell text), so
// they also hold for the programs the tool starts (cc1, as). The tool runs in a process group
// of its own, which is killed as a whole on a limit, on the way out, and when we are told to
// stop. The result says what happened in words: the limit hit, the signal that ended it.

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { cleanupOnExitSignal } from './exit-signals.js';

export interface Limits {
  /** Wall-clock and CPU time, in seconds. */
  seconds: number;
  /** Address space of each process, in MiB. */
  memoryMiB: number;
  /** Largest file the tool may write, in MiB. */
  fileMiB: number;
  /** Most bytes of messages (stdout and stderr together) before the tool is stopped. */
  messageBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  seconds: 30,
  memoryMiB: 512,
  fileMiB: 64,
  messageBytes: 1 << 20,
};

export type LimitedRun =
  | { kind: 'not-found' }
  | { kind: 'exited'; status: number; messages: string }
  /** It did not end by itself: a limit stopped it, or a signal from elsewhere. */
  | { kind: 'stopped'; reason: string; messages: string };

const LIMIT_SCRIPT =
  'ulimit -t "$1" && ulimit -v "$2" && ulimit -f "$3" && ulimit -c 0 && shift 3 && exec "$@"';

/** The tool's path as `exec` would find it, or undefined when there is no such program. */
export function findProgram(program: string): string | undefined {
  const candidates = program.includes('/')
    ? [resolve(program)]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, program));
  return candidates.find((path) => {
    try {
      accessSync(path, fsConstants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
}

function signalWords(signal: NodeJS.Signals, limits: Limits): string {
  const why: Partial<Record<NodeJS.Signals, string>> = {
    SIGXCPU: `it hit the CPU time limit of ${limits.seconds} s`,
    SIGXFSZ: `it hit the file size limit of ${limits.fileMiB} MiB`,
    SIGKILL: 'killed from outside, perhaps by the kernel when memory ran out',
    SIGSEGV: 'it crashed, perhaps when memory ran out',
  };
  const number = osConstants.signals[signal];
  return `killed by signal ${signal}${number ? ` (${number})` : ''}${why[signal] ? `: ${why[signal]}` : ''}`;
}

/**
 * What a compiler driver (gcc, clang) says when a program it started hit one of our limits:
 * the limit in words, and the line that says so.
 */
export function limitInMessages(
  messages: string,
  limits: Limits,
): { reason: string; line: string } | undefined {
  const patterns: [RegExp, (m: RegExpExecArray) => string][] = [
    [
      /out of memory|virtual memory exhausted|cannot allocate memory/i,
      () => `it ran out of memory at the limit of ${limits.memoryMiB} MiB`,
    ],
    [/CPU time limit exceeded/i, () => `it hit the CPU time limit of ${limits.seconds} s`],
    [/File size limit exceeded/i, () => `it hit the file size limit of ${limits.fileMiB} MiB`],
    [
      /(\w[\w ]*?) signal terminated program (\S+)/,
      (m) => `its program ${m[2]} was ended by a signal: ${m[1]}`,
    ],
  ];
  for (const line of messages.split('\n')) {
    for (const [pattern, words] of patterns) {
      const m = pattern.exec(line);
      if (m) return { reason: words(m), line: line.trim() };
    }
  }
  return undefined;
}

export function runLimited(
  program: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; limits: Limits },
): Promise<LimitedRun> {
  const path = findProgram(program);
  if (!path) return Promise.resolve({ kind: 'not-found' });
  const { limits } = options;
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        LIMIT_SCRIPT,
        'viommu-limits',
        String(limits.seconds),
        String(limits.memoryMiB * 1024),
        String(limits.fileMiB * 2048),
        path,
        ...args,
      ],
      { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stopReason: string | undefined;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    };
    const stop = (reason: string) => {
      stopReason ??= reason;
      killGroup();
    };
    const releaseSignals = cleanupOnExitSignal(killGroup);
    const timer = setTimeout(
      () => stop(`it took longer than the time limit of ${limits.seconds} s`),
      limits.seconds * 1000,
    );

    const kept: Buffer[] = [];
    let keptBytes = 0;
    const collect = (chunk: Buffer) => {
      const room = limits.messageBytes - keptBytes;
      if (room > 0) kept.push(chunk.subarray(0, room));
      keptBytes += chunk.length;
      if (keptBytes > limits.messageBytes)
        stop(`it printed more than the limit of ${limits.messageBytes} bytes of messages`);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);

    let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    // A program the tool started may outlive it; take the whole group down with it.
    child.on('exit', (code, signal) => {
      ended = { code, signal };
      killGroup();
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      releaseSignals();
      killGroup();
      rejectRun(error);
    });
    child.on('close', () => {
      clearTimeout(timer);
      releaseSignals();
      const messages = Buffer.concat(kept).toString('utf8');
      const { code, signal } = ended ?? { code: null, signal: null };
      if (stopReason !== undefined) resolveRun({ kind: 'stopped', reason: stopReason, messages });
      else if (signal)
        resolveRun({ kind: 'stopped', reason: signalWords(signal, limits), messages });
      else resolveRun({ kind: 'exited', status: code ?? 0, messages });
    });
  });
}
