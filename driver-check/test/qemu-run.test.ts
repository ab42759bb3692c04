// The QEMU runner's time limit: a guest that cannot finish in time is killed with its whole
// process group, and the error says so with the console's last lines.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildInitramfs } from '../guest/initramfs.js';
import { debianKernel } from '../kernel/debian-package.js';
import { runGuest } from '../qemu/run-guest.js';

/** Processes whose command line names `dir` (QEMU's arguments hold its private folder). */
function processesUsing(dir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes(dir) && !line.includes(' ps '));
}

describe('driver-check QEMU runner', function () {
  this.timeout(120_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-qemu-run-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('kills QEMU at the time limit and leaves no process behind', async () => {
    const kernel = debianKernel();
    const initrd = buildInitramfs(kernel, dir);
    const started = Date.now();
    await assert.rejects(
      runGuest({
        qemu: 'qemu-system-x86_64',
        kernelImage: kernel.image,
        initrd,
        mode: 'strict',
        dir,
        timeoutMs: 1500,
      }),
      /did not finish within 1\.5 s; QEMU was killed/,
    );
    // Killed at the limit, not when the guest would have finished (4 s idle, more under load).
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
    assert.deepEqual(processesUsing(dir), []);
  });

  it('says what to install when QEMU is missing', async () => {
    await assert.rejects(
      runGuest({
        qemu: join(dir, 'no-qemu'),
        kernelImage: 'none',
        initrd: 'none',
        mode: 'strict',
        dir,
        timeoutMs: 1000,
      }),
      /apt-get install qemu-system-x86/,
    );
  });
});
