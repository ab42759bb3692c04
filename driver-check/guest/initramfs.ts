// The guest's initramfs: busybox (static), /init (guest/init-script.ts) and the two modules,
// decompressed (busybox insmod takes plain .ko files), as a gzip'd newc cpio archive. Built
// in a private temporary folder for each run: it takes well under a second.

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { GuestKernel } from '../kernel/guest-kernel.js';
import { GUEST_MODULES, initScript } from './init-script.js';

export const BUSYBOX = '/bin/busybox';

function moduleBytes(path: string): Buffer {
  if (!path.endsWith('.xz')) return readFileSync(path);
  const result = spawnSync('xz', ['-dc', path], { maxBuffer: 1 << 26 });
  if (result.error)
    throw new Error(`xz: ${result.error.message} (Debian: apt-get install xz-utils)`);
  if (result.status !== 0)
    throw new Error(`xz -dc ${path} failed: ${result.stderr.toString().trim()}`);
  return result.stdout;
}

/** Writes `dir`/initrd.gz and returns its path. */
export function buildInitramfs(kernel: GuestKernel, dir: string, busybox = BUSYBOX): string {
  if (!existsSync(busybox))
    throw new Error(
      `${busybox} not found: a static busybox is needed (Debian: apt-get install busybox-static)`,
    );
  const root = join(dir, 'root');
  for (const sub of ['bin', 'dev', 'proc', 'sys', 'lib/modules'])
    mkdirSync(join(root, sub), { recursive: true });
  copyFileSync(busybox, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  writeFileSync(join(root, 'init'), initScript(), { mode: 0o755 });
  writeFileSync(join(root, GUEST_MODULES.iommu), moduleBytes(kernel.modules.iommu));
  writeFileSync(join(root, GUEST_MODULES.blk), moduleBytes(kernel.modules.blk));
  const files = [
    '.',
    'bin',
    'bin/busybox',
    'dev',
    'proc',
    'sys',
    'lib',
    'lib/modules',
    'init',
    GUEST_MODULES.iommu.slice(1),
    GUEST_MODULES.blk.slice(1),
  ];
  const cpio = spawnSync('cpio', ['-o', '-H', 'newc', '--quiet'], {
    cwd: root,
    input: files.join('\n') + '\n',
    maxBuffer: 1 << 27,
  });
  if (cpio.error) throw new Error(`cpio: ${cpio.error.message} (Debian: apt-get install cpio)`);
  if (cpio.status !== 0) throw new Error(`cpio failed: ${cpio.stderr.toString().trim()}`);
  const path = join(dirname(root), 'initrd.gz');
  writeFileSync(path, gzipSync(cpio.stdout, { level: 1 }));
  return path;
}
