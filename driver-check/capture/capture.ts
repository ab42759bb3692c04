// One capture: build the initramfs, boot the guest in one mode, and combine both sides into
// an event log. Everything goes through a private temporary folder, removed afterwards.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildInitramfs } from '../guest/initramfs.js';
import type { Mode } from '../guest/init-script.js';
import type { GuestKernel } from '../kernel/guest-kernel.js';
import { buildEventLog } from '../log/build-log.js';
import type { LogEvent } from '../log/event-log.js';
import { runGuest } from '../qemu/run-guest.js';
import { parseGuestChannel } from './guest-channel.js';
import { parseGuestTrace } from './guest-trace.js';
import { parseQemuTrace } from './qemu-trace.js';

export interface CaptureOptions {
  kernel: GuestKernel;
  mode: Mode;
  qemu: string;
  timeoutMs: number;
  tool: string;
}

export interface Capture {
  events: LogEvent[];
  bootMs: number;
}

export async function captureDriver(options: CaptureOptions): Promise<Capture> {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-driver-check-'));
  try {
    const startedAt = new Date().toISOString();
    const initrd = buildInitramfs(options.kernel, dir);
    const run = await runGuest({
      qemu: options.qemu,
      kernelImage: options.kernel.image,
      initrd,
      mode: options.mode,
      dir,
      timeoutMs: options.timeoutMs,
    });
    const guest = parseGuestChannel(run.dataPort);
    const events = buildEventLog({
      meta: {
        tool: options.tool,
        kernel: options.kernel.release,
        source: options.kernel.source,
        mode: options.mode,
        qemu: run.qemuVersion,
        startedAt,
        bootMs: Math.round(run.wallMs),
      },
      qemu: parseQemuTrace(run.qemuTrace),
      guest,
      trace: parseGuestTrace(guest.trace),
    });
    return { events, bootMs: run.wallMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
