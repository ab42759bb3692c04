// Layer: cli.
// `viommu device` as a child process, for runs that measure what the server itself holds
// (its peak RSS from /proc) or that need to see it survive whatever a client sends.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../package-root.js';

const CLI = join(findPackageRoot(), 'build', 'cli', 'viommu.js');
const STDERR_KEPT = 64 * 1024;

export interface DeviceServer {
  readonly process: ChildProcess;
  /** `unix:PATH` it listens on. */
  readonly address: string;
  /** The last 64 KiB it wrote on stderr. */
  stderr(): string;
  /** Stops it (SIGTERM) and waits for it to exit; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `viommu device --board BOARD --listen unix:PATH …` and waits until it listens. */
export async function startDeviceServer(
  board: string,
  socketPath: string,
  extraArgs: readonly string[] = [],
): Promise<DeviceServer> {
  const child = spawn(
    process.execPath,
    [CLI, 'device', '--board', board, '--listen', `unix:${socketPath}`, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  // Findings can fill stderr without end: keep its last 64 KiB.
  child
    .stderr!.setEncoding('utf8')
    .on('data', (text: string) => (stderr = (stderr + text).slice(-STDERR_KEPT)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no 'listening' within 10 s: ${stderr}`)),
      10_000,
    );
    const check = () => {
      const match = /listening on (unix:\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) =>
      reject(new Error(`exited with ${code} before listening: ${stderr}`)),
    );
  });
  return {
    process: child,
    address,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A field of /proc/PID/status in KiB: VmRSS now, VmHWM the peak. */
export function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}
