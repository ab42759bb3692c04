// The guest kernel: Debian's, fetched and cached, and a developer's own (--kernel PATH
// --modules DIR), with clear errors when a piece is missing.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianKernel, resolveDebianKernel } from '../kernel/debian-package.js';
import { bzImageRelease, localKernel } from '../kernel/guest-kernel.js';

describe('driver-check guest kernel', function () {
  this.timeout(120_000);

  it("resolves Debian's meta package to a versioned image package through apt-cache", () => {
    const { name, version } = resolveDebianKernel();
    assert.match(name, /^linux-image-6\.12\.\d+\+deb\d+-amd64$/);
    assert.match(version, /^6\.12\.\d+/);
  });

  it('reads the release from the bzImage header and finds both modules, compressed or not', () => {
    const kernel = debianKernel();
    assert.match(kernel.release, /^6\.12\.\d+\+deb\d+-amd64$/);
    assert.equal(bzImageRelease(kernel.image), kernel.release);
    assert.match(kernel.modules.iommu, /virtio-iommu\.ko\.xz$/);
    const dir = mkdtempSync(join(tmpdir(), 'viommu-kernel-'));
    try {
      mkdirSync(join(dir, 'extra'));
      copyFileSync(kernel.modules.iommu, join(dir, 'extra', 'virtio-iommu.ko.xz'));
      assert.throws(
        () => localKernel(kernel.image, dir),
        /virtio_blk\.ko not found \(plain or \.xz\)/,
      );
      writeFileSync(join(dir, 'virtio_blk.ko'), 'plain');
      const own = localKernel(kernel.image, dir);
      assert.equal(own.modules.blk, join(dir, 'virtio_blk.ko'));
      writeFileSync(join(dir, 'not-a-kernel'), Buffer.alloc(0x300));
      assert.throws(() => localKernel(join(dir, 'not-a-kernel'), dir), /not an x86 bzImage/);
      assert.throws(
        () => localKernel(join(dir, 'missing'), dir),
        /--kernel .*missing: no such file/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
