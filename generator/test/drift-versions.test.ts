// Drift names the version a header is: every version's generated header is named as itself,
// hand-edited copies (a kernel-style v0.4, a v0.9 with one field off) still come out as
// their version, and the system's header, which calls itself "v0.12", is the current layout.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { driftReport, SYSTEM_HEADER, type DriftReport } from '../drift/drift.js';
import { UAPI_HEADER_PATH } from '../emit/uapi-header.js';
import { distOutputs } from '../outputs.js';
import { packageRoot } from '../paths.js';
import { allVersions, CURRENT, listVersions } from '../versions/resolve.js';
import { specModel, version } from './spec-model.js';
import { versionModel } from './version-models.js';

const known = () =>
  allVersions(join(packageRoot, 'spec-src'), packageRoot, version, specModel()).versions;

const headerOf = (name: string) => distOutputs(versionModel(name)).get(UAPI_HEADER_PATH)!;

describe('drift names the version of a header', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-drift-versions-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function reportOn(name: string, text: string): Promise<DriftReport> {
    const path = join(dir, `${name}.h`);
    writeFileSync(path, text);
    return driftReport(specModel(), path, { versions: known() });
  }

  for (const name of [...listVersions(join(packageRoot, 'spec-src')), CURRENT]) {
    it(`names the header of ${name} as ${name}, exactly`, async function () {
      this.timeout(20_000);
      const report = await reportOn(name, headerOf(name));
      assert.equal(report.versions?.best.version, name);
      assert.equal(report.versions?.best.score, 1);
      assert.deepEqual(report.versions?.best.findings, []);
    });
  }

  it('names a kernel-style v0.4 header (u64 fields, the mask as an expression) v0.4', async () => {
    const text = headerOf('v0.4')
      .replace(/__le64(\s+)(page_size_mask|start|end);/g, '__u64$1$2;')
      .replace(
        /#define VIRTIO_IOMMU_MAP_F_MASK\s+0x7/,
        '#define VIRTIO_IOMMU_MAP_F_MASK (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE | VIRTIO_IOMMU_MAP_F_EXEC)',
      );
    const report = await reportOn('kernel-v0.4', text);
    const best = report.versions!.best;
    assert.equal(best.version, 'v0.4');
    assert.ok(best.score < 1 && best.score > 0.9, `score ${best.score}`);
    assert.ok(
      best.findings.every((f) => f.kind === 'type'),
      JSON.stringify(best.findings),
    );
    // Against the current spec, the same 40-byte MAP holds other fields at 16 and 24.
    assert.ok(
      report.findings.some(
        (f) => f.kind === 'rename' && f.subject === 'virtio_iommu_req_map.virt_end',
      ),
    );
  });

  it('names a v0.9 header whose fault report is still packed v0.9, with the difference', async () => {
    const text = headerOf('v0.9').replace(/\t__u8\s+reserved2\[4\];\n/, '');
    const report = await reportOn('v0.9-edit', text);
    const best = report.versions!.best;
    assert.equal(best.version, 'v0.9');
    assert.ok(best.findings.some((f) => f.subject === 'virtio_iommu_fault.reserved2'));
  });

  it('names the system header ("v0.12") as the current layout, not v0.12 of 2019', async function () {
    if (!existsSync(SYSTEM_HEADER)) this.skip();
    const report = await driftReport(specModel(), SYSTEM_HEADER, { versions: known() });
    assert.equal(report.versions?.best.version, CURRENT);
    assert.equal(report.versions?.ranking[1].version, 'v0.12-2019');
  });

  it('prints the closest version before the differences against the current spec', () => {
    const path = join(dir, 'cli-v0.5.h');
    writeFileSync(path, headerOf('v0.5'));
    const run = spawnSync('node', [join(packageRoot, 'build', 'cli', 'viommu.js'), 'drift', path], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(
      run.stdout,
      /\nclosest known version: v0\.5, 100% alike .*\n {2}the header is v0\.5 exactly\nagainst the current spec:\n/,
    );
  });
});
