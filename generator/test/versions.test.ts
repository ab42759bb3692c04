// Every version of the spec, resolved along its chain, generates a header that compiles at
// the strictest warnings and has that version's layout: the facts the project's history
// gives (sizes, offsets, values), asserted by gcc on the generated header, and the names a
// version must not have, asserted on the model.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { distOutputs } from '../outputs.js';
import { packageRoot } from '../paths.js';
import { CURRENT, listVersions } from '../versions/resolve.js';
import { compile, STRICT } from './c-compiler.js';
import { versionModel } from './version-models.js';

const SPEC = join(packageRoot, 'spec-src');

type Fact = [expression: string, value: number];

const size = (s: string, n: number): Fact => [`sizeof(struct virtio_iommu_${s})`, n];
const at = (s: string, f: string, n: number): Fact => [
  `offsetof(struct virtio_iommu_${s}, ${f})`,
  n,
];
const value = (name: string, n: number): Fact => [`VIRTIO_IOMMU_${name}`, n];

/** What each version is known to be (the project's HISTORY notes), in C. */
const LAYOUT_FACTS: Record<string, Fact[]> = {
  'v0.4': [
    size('config', 25),
    size('req_attach', 20),
    size('req_detach', 16),
    size('req_map', 40),
    at('req_map', 'virt_addr', 8),
    at('req_map', 'phys_addr', 16),
    at('req_map', 'size', 24),
    size('req_unmap', 32),
    value('F_IOASID_BITS', 1),
    value('F_BYPASS', 3),
    value('S_FAULT', 7),
    value('MAP_F_EXEC', 4),
  ],
  'v0.5': [
    size('config', 32),
    at('config', 'probe_size', 28),
    at('req_attach', 'domain', 4),
    at('req_attach', 'endpoint', 8),
    at('fault', 'address', 12),
    size('fault', 20),
    size('probe_resv_mem', 20),
    value('F_DOMAIN_BITS', 1),
    value('F_PROBE', 4),
    value('T_PROBE', 5),
    value('PROBE_T_MASK', 0xfff),
    value('FAULT_F_ADDRESS', 0x100),
  ],
  'v0.7': [
    size('req_map', 40),
    at('req_map', 'virt_end', 16),
    at('req_map', 'phys_start', 24),
    at('req_unmap', 'virt_end', 16),
    size('req_detach', 16),
    at('fault', 'address', 12),
    at('probe_resv_mem', 'end', 12),
    value('MAP_F_MMIO', 8),
  ],
  'v0.9': [
    at('fault', 'address', 16),
    size('fault', 24),
    at('req_detach', 'domain', 4),
    size('req_detach', 24),
    size('req_attach', 24),
    size('probe_property', 4),
    at('probe_resv_mem', 'start', 8),
    size('probe_resv_mem', 24),
    value('MAP_F_MMIO', 8),
  ],
  'v0.12-2019': [
    at('config', 'domain_range', 24),
    at('config', 'probe_size', 32),
    size('config', 40),
    value('MAP_F_MMIO', 4),
    value('F_DOMAIN_RANGE', 1),
    value('F_MMIO', 5),
    value('S_NOMEM', 8),
    value('FAULT_F_EXEC', 4),
  ],
  [CURRENT]: [
    size('config', 40),
    at('config', 'bypass', 36),
    at('req_attach', 'flags', 12),
    size('req_map', 40),
    at('req_map', 'virt_end', 16),
    at('req_map', 'phys_start', 24),
    at('fault', 'address', 16),
    value('F_BYPASS_CONFIG', 6),
    value('ATTACH_F_BYPASS', 1),
  ],
};

/** Names a version does not have. */
const ABSENT: Record<string, string[]> = {
  'v0.4': ['virtio_iommu_req_probe', 'virtio_iommu_fault', 'VIRTIO_IOMMU_F_PROBE'],
  'v0.5': ['VIRTIO_IOMMU_F_IOASID_BITS', 'VIRTIO_IOMMU_MAP_F_MMIO'],
  'v0.9': ['virtio_iommu_range_64'],
  'v0.12-2019': ['VIRTIO_IOMMU_MAP_F_EXEC', 'VIRTIO_IOMMU_F_DOMAIN_BITS', 'virtio_iommu_range'],
  [CURRENT]: ['VIRTIO_IOMMU_FAULT_F_EXEC'],
};

describe('spec versions', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-versions-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists every historic version in chain order', () => {
    assert.deepEqual(listVersions(SPEC), ['v0.4', 'v0.5', 'v0.7', 'v0.9', 'v0.12-2019']);
  });

  for (const name of [...Object.keys(LAYOUT_FACTS)]) {
    it(`${name}: the generated header compiles and has the known layout`, function () {
      this.timeout(20_000);
      const model = versionModel(name);
      const root = join(dir, name);
      for (const [path, text] of distOutputs(model)) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      }
      const facts = LAYOUT_FACTS[name]
        .map(([expr, n]) => `_Static_assert(${expr} == ${n}, "${expr} == ${n}");`)
        .join('\n');
      const probe = join(root, 'facts.c');
      writeFileSync(probe, `#include <stddef.h>\n#include <linux/virtio_iommu.h>\n${facts}\n`);
      const include = join(root, 'dist', 'include');
      for (const file of [probe, join(root, 'dist', 'test', 'virtio_iommu_layout.c')]) {
        const r = compile('gcc', ['-std=c11', ...STRICT, '-fsyntax-only', '-I', include, file]);
        assert.equal(r.status, 0, r.stderr);
      }
      const names = new Set([
        ...model.structs.map((s) => s.name),
        ...model.constants.map((c) => c.name),
      ]);
      for (const absent of ABSENT[name] ?? [])
        assert.ok(!names.has(absent), `${name} has ${absent}`);
    });
  }
});
