// Debian's linux-image-6.12-amd64 (bookworm-security), fetched with apt-get download and
// unpacked with dpkg-deb, never installed. The meta package names the versioned image package
// it depends on; that name is resolved at run time with apt-cache, so a new point release is
// picked up without a change here. The unpacked kernel and its two modules are cached under
// $XDG_CACHE_HOME/viommu/kernels/<package>_<version>/ (~/.cache when unset), outside git.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { localKernel, type GuestKernel } from './guest-kernel.js';

export const DEBIAN_META_PACKAGE = 'linux-image-6.12-amd64';

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'viommu', 'kernels');
}

function run(command: string, args: string[], cwd?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.error)
    throw new Error(
      `${command} ${args.join(' ')}: ${result.error.message} (Debian: apt-get install ${command === 'dpkg-deb' ? 'dpkg' : 'apt'})`,
    );
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' / ')}`,
    );
  return result.stdout;
}

/** The versioned image package the meta package depends on, and its candidate version. */
export function resolveDebianKernel(meta = DEBIAN_META_PACKAGE): { name: string; version: string } {
  const depends = run('apt-cache', ['depends', meta]);
  const name = /Depends:\s+(linux-image-\S+)/.exec(depends)?.[1];
  if (!name)
    throw new Error(
      `apt-cache depends ${meta} names no linux-image package: is bookworm-security in the apt sources, and has apt-get update run?`,
    );
  const policy = run('apt-cache', ['policy', name]);
  const version = /Candidate:\s+(\S+)/.exec(policy)?.[1];
  if (!version || version === '(none)')
    throw new Error(`apt-cache policy ${name}: no candidate version`);
  return { name, version };
}

/** The kernel from the cache, fetching and unpacking it on first use. */
export function debianKernel(log: (line: string) => void = () => {}): GuestKernel {
  const { name, version } = resolveDebianKernel();
  const dir = join(cacheRoot(), `${name}_${version}`.replace(/[^A-Za-z0-9.+_-]/g, '_'));
  const source = `Debian ${name} ${version}`;
  const boot = join(dir, 'boot');
  if (!existsSync(boot)) {
    log(`fetching ${name} ${version} into ${dir}`);
    mkdirSync(cacheRoot(), { recursive: true });
    const work = mkdtempSync(join(cacheRoot(), '.fetch-'));
    try {
      run('apt-get', ['download', `${name}=${version}`], work);
      const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
      if (!deb) throw new Error(`apt-get download ${name} wrote no .deb`);
      const unpacked = join(work, 'root');
      mkdirSync(unpacked);
      // Only what the guest needs: the image and the two modules (the package holds thousands).
      execFileSync('sh', [
        '-c',
        `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './boot/vmlinuz-*' '*/virtio-iommu.ko*' '*/virtio_blk.ko*'`,
        'sh',
        join(work, deb),
        unpacked,
      ]);
      rmSync(dir, { recursive: true, force: true });
      renameSync(unpacked, dir);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const image = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!image) throw new Error(`${boot}: no vmlinuz; remove the folder to fetch again`);
  return localKernel(join(boot, image), join(dir, 'lib'), source);
}
