// Boots the guest under QEMU (TCG on q35: KVM does not work on the machines we run on) with
// virtio-iommu-pci and a virtio-blk endpoint behind it (iommu_platform=on: without it the
// endpoint's driver skips the DMA API and QEMU skips the IOMMU). The console is ttyS0, the data
// port ttyS1 (a file), QEMU's virtio_iommu trace another file.
//
// QEMU runs in its own process group, killed on every way out: its exit, the time limit, an
// error, and this process's own exit or SIGINT/SIGTERM; coreutils' timeout kills it too
// should this process die without cleaning up. It never outlives the command.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  DONE_MARKER,
  ENDPOINT_PCI,
  MODE_KERNEL_ARGUMENT,
  type Mode,
} from '../guest/init-script.js';

export interface GuestRunOptions {
  qemu: string;
  kernelImage: string;
  initrd: string;
  mode: Mode;
  /** A private folder for the disk image and the capture files. */
  dir: string;
  timeoutMs: number;
}

export interface GuestRun {
  console: string;
  dataPort: string;
  qemuTrace: string;
  wallMs: number;
  qemuVersion: string;
}

/** QEMU's first --version line, e.g. `QEMU emulator version 7.2.22 (Debian …)`. */
export function qemuVersion(qemu: string): string {
  const result = spawnSync(qemu, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error)
    throw new Error(`${qemu}: ${result.error.message} (Debian: apt-get install qemu-system-x86)`);
  return result.stdout.split('\n')[0]!.trim();
}

const DISK_BYTES = 4 << 20;

export function qemuArguments(
  options: GuestRunOptions,
  files: { disk: string; data: string; trace: string },
): string[] {
  const slot = ENDPOINT_PCI.split(':')[2]!; // 02.0
  return [
    '-M',
    'q35',
    '-accel',
    'tcg',
    '-m',
    '512',
    '-smp',
    '1',
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    'stdio',
    '-serial',
    `file:${files.data}`,
    '-kernel',
    options.kernelImage,
    '-initrd',
    options.initrd,
    '-append',
    `console=ttyS0 rdinit=/init panic=-1 ${MODE_KERNEL_ARGUMENT[options.mode]}`,
    '-device',
    'virtio-iommu-pci,addr=01.0',
    '-drive',
    `file=${files.disk},if=none,id=disk0,format=raw`,
    '-device',
    `virtio-blk-pci,drive=disk0,addr=${slot},iommu_platform=on,disable-legacy=on`,
    '-trace',
    'virtio_iommu_*',
    '-D',
    files.trace,
  ];
}

export async function runGuest(options: GuestRunOptions): Promise<GuestRun> {
  const files = {
    disk: join(options.dir, 'disk.img'),
    data: join(options.dir, 'data-port.txt'),
    trace: join(options.dir, 'qemu-trace.txt'),
  };
  // A disk with a pattern, so the reads move real data.
  const disk = Buffer.alloc(DISK_BYTES);
  for (let i = 0; i < disk.length; i += 4) disk.writeUInt32LE(i, i);
  writeFileSync(files.disk, disk);
  writeFileSync(files.data, '');
  const version = qemuVersion(options.qemu);
  const started = performance.now();
  // coreutils' timeout holds a second limit a little past ours, so that QEMU dies at the end
  // even if this process is killed without a chance to clean up.
  const backstop = String(Math.ceil(options.timeoutMs / 1000) + 5);
  const child = spawn(
    'timeout',
    ['-s', 'KILL', backstop, options.qemu, ...qemuArguments(options, files)],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const killGroup = (): void => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    killGroup();
    process.kill(process.pid, signal);
  };
  process.once('exit', killGroup);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, options.timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (status) => resolve(status));
    });
    const wallMs = performance.now() - started;
    const tail = output.trim().split('\n').slice(-8).join('\n');
    if (timedOut)
      throw new Error(
        `the guest did not finish within ${options.timeoutMs / 1000} s; QEMU was killed. Last console lines:\n${tail}`,
      );
    if (!output.includes(DONE_MARKER))
      throw new Error(
        `the guest stopped before the workload finished (QEMU exit ${code}). Last console lines:\n${tail}`,
      );
    return {
      console: output,
      dataPort: readFileSync(files.data, 'utf8'),
      qemuTrace: readFileSync(files.trace, 'utf8'),
      wallMs,
      qemuVersion: version,
    };
  } finally {
    clearTimeout(timer);
    killGroup();
    process.removeListener('exit', killGroup);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
