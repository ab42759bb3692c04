// The guest kernel and the two modules the workload loads: Debian's linux-image-6.12 (fetched
// and cached by kernel/debian-package.ts) or a developer's own build (--kernel PATH --modules DIR).

import { existsSync, openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface GuestKernel {
  /** The bzImage. */
  image: string;
  /** The kernel release its header names, e.g. `6.12.117+deb12-amd64`. */
  release: string;
  /** Where it came from, for people: the Debian package and version, or the path. */
  source: string;
  /** virtio-iommu.ko and virtio_blk.ko, plain or xz-compressed. */
  modules: { iommu: string; blk: string };
}

/**
 * The release string of an x86 bzImage: the boot header's kernel_version field (offset 0x20e)
 * points to it, 0x200 bytes before where it is.
 */
export function bzImageRelease(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(0x210);
    readSync(fd, header, 0, header.length, 0);
    if (header.toString('latin1', 0x202, 0x206) !== 'HdrS')
      throw new Error(`${path} is not an x86 bzImage (no "HdrS" boot header)`);
    const text = Buffer.alloc(256);
    readSync(fd, text, 0, text.length, header.readUInt16LE(0x20e) + 0x200);
    const version = text.toString('latin1').split('\0')[0]!;
    return version.split(' ')[0]!;
  } finally {
    closeSync(fd);
  }
}

/** The first file under `dir` (recursively) named `name` or `name.xz`. */
function findModule(dir: string, name: string): string | undefined {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (entry === name || entry === `${name}.xz`) return path;
    if (statSync(path).isDirectory()) {
      const found = findModule(path, name);
      if (found) return found;
    }
  }
  return undefined;
}

/** A kernel of your own: its bzImage and a folder holding virtio-iommu.ko and virtio_blk.ko. */
export function localKernel(image: string, modulesDir: string, source = image): GuestKernel {
  if (!existsSync(image)) throw new Error(`--kernel ${image}: no such file`);
  if (!existsSync(modulesDir)) throw new Error(`--modules ${modulesDir}: no such folder`);
  const iommu = findModule(modulesDir, 'virtio-iommu.ko');
  const blk = findModule(modulesDir, 'virtio_blk.ko');
  if (!iommu || !blk)
    throw new Error(
      `--modules ${modulesDir}: ${!iommu ? 'virtio-iommu.ko' : 'virtio_blk.ko'} not found (plain or .xz); build with CONFIG_VIRTIO_IOMMU=m and CONFIG_VIRTIO_BLK=m`,
    );
  return { image, release: bzImageRelease(image), source, modules: { iommu, blk } };
}
