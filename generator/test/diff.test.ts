// `viommu diff`: ABI changes between versions come out as drift's typed findings, statement
// changes by ID, and an ID that changed meaning is an error (exit 1).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from '../build-model.js';
import { messagesOf } from '../messages.js';
import { readSpecSources } from '../spec-sources.js';
import { packageRoot } from '../paths.js';
import { diffModels, type SpecDiff } from '../versions/diff.js';
import { loadSpec } from '../versions/load-spec.js';
import { version } from './spec-model.js';
import { versionModel } from './version-models.js';

const viommu = join(packageRoot, 'build', 'cli', 'viommu.js');

function diffOf(a: string, b: string): SpecDiff {
  return diffModels(versionModel(a), versionModel(b), a, b);
}

const has = (d: SpecDiff, kind: string, subject: string, expected?: string, actual?: string) =>
  d.abi.some(
    (f) =>
      f.kind === kind &&
      f.subject === subject &&
      (expected === undefined || f.expected === expected) &&
      (actual === undefined || f.actual === actual),
  );

describe('viommu diff', () => {
  it('v0.4 → current: sizes, renamed fields with new meanings, new features, every statement added', () => {
    const d = diffOf('v0.4', 'current');
    assert.ok(has(d, 'layout', 'struct virtio_iommu_config', '25', '40'));
    assert.ok(has(d, 'rename', 'virtio_iommu_req_map.virt_addr', undefined, 'virt_start __le64'));
    assert.ok(has(d, 'rename', 'virtio_iommu_req_map.phys_addr', undefined, 'virt_end __le64'));
    assert.ok(has(d, 'extra', 'VIRTIO_IOMMU_F_BYPASS_CONFIG'));
    assert.ok(has(d, 'extra', 'struct virtio_iommu_fault'));
    assert.ok(has(d, 'missing', 'virtio_iommu_config.ioasid_bits'));
    assert.equal(
      d.statements.filter((s) => s.kind === 'added').length,
      versionModel('current').statements.length,
    );
    assert.equal(d.errors, 0);
  });

  it('v0.9 → v0.12-2019: MMIO renumbered, EXEC removed, domain_range in the configuration', () => {
    const d = diffOf('v0.9', 'v0.12-2019');
    assert.ok(has(d, 'value', 'VIRTIO_IOMMU_MAP_F_MMIO', '8', '4'));
    assert.ok(has(d, 'missing', 'VIRTIO_IOMMU_MAP_F_EXEC'));
    assert.ok(has(d, 'extra', 'VIRTIO_IOMMU_S_NOMEM'));
    assert.ok(
      has(d, 'layout', 'virtio_iommu_config.probe_size', 'offset 28, size 4', 'offset 32, size 4'),
    );
    // v0.9 is known from its header only; v0.12 (2019) is the first version with a text.
    assert.equal(d.statements.length, versionModel('v0.12-2019').statements.length);
    assert.ok(d.statements.every((s) => s.kind === 'added'));
  });

  it('v0.12-2019 → current: the statements of the 2021 bypass rework', () => {
    const d = diffOf('v0.12-2019', 'current');
    const kinds = (kind: string) => d.statements.filter((s) => s.kind === kind).map((s) => s.id);
    assert.deepEqual(kinds('removed'), ['dev.init.no-bypass-access']);
    assert.match(d.statements.find((s) => s.kind === 'removed')!.message, /its ID retired/);
    assert.deepEqual(kinds('text'), [
      'drv.config.read-only',
      'dev.bypass.identity',
      'dev.isolation.domain',
    ]);
    assert.equal(kinds('added').length, 18);
    assert.ok(kinds('added').includes('dev.attach.unknown-flags'));
    assert.deepEqual([kinds('level'), kinds('meaning'), d.errors], [[], [], 0]);
    assert.ok(has(d, 'extra', 'VIRTIO_IOMMU_F_BYPASS_CONFIG'));
  });

  it('a version against itself has no changes', () => {
    const d = diffOf('v0.5', 'v0.5');
    assert.deepEqual([d.abi, d.statements], [[], []]);
  });

  describe('statements, between spec folders', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'viommu-diff-test-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** A copy of spec-src/ with `edit` applied to one file. */
    function variant(name: string, file: string, edit: (text: string) => string): string {
      const to = join(dir, name);
      cpSync(join(packageRoot, 'spec-src'), to, { recursive: true });
      writeFileSync(join(to, file), edit(readFileSync(join(to, file), 'utf8')));
      return to;
    }
    const model = (folder: string) => {
      const r = buildModel(readSpecSources(folder, dir), version);
      assert.ok(r.model, JSON.stringify(messagesOf(r.files)));
      return r.model;
    };

    it('reports a level change, a text change, an added and a removed statement', () => {
      const before = variant('before', '05-attach-detach.md', (t) =>
        t
          .replace('is not zero, the device MUST refuse', 'is not zero, the device SHOULD refuse')
          .replace('- `dev.detach.noent`', '- `dev.detach.missing-endpoint`')
          .replace('If `reserved` is not zero', 'Whenever `reserved` is not zero'),
      );
      const d = diffModels(model(before), versionModel('current'), 'before', 'current');
      const kinds = d.statements.map((s) => `${s.kind} ${s.id}`).sort();
      assert.deepEqual(kinds, [
        'added dev.detach.noent',
        'level dev.attach.reserved',
        'removed dev.detach.missing-endpoint',
        'text dev.attach.reserved',
      ]);
      assert.equal(d.errors, 0);
    });

    it('an ID retired before and used again is an error, exit status 1', () => {
      const before = variant('retired', 'retired-ids.txt', (t) => `${t}dev.attach.reserved\n`);
      const edited = join(before, '05-attach-detach.md');
      writeFileSync(
        edited,
        readFileSync(edited, 'utf8').replace(
          '- `dev.attach.reserved`',
          '- `dev.attach.reserved-nonzero`',
        ),
      );
      const d = diffModels(model(before), versionModel('current'), 'retired', 'current');
      assert.equal(d.errors, 1);
      assert.ok(d.statements.some((s) => s.kind === 'meaning' && s.id === 'dev.attach.reserved'));
      const run = spawnSync('node', [viommu, 'diff', before, 'current'], { encoding: 'utf8' });
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stdout, /error: dev\.attach\.reserved changed meaning/);
    });
  });

  it('reads a git revision, and says which arguments name nothing', function () {
    this.timeout(20_000);
    const head = loadSpec('HEAD', packageRoot, version);
    assert.ok(head.model, JSON.stringify(messagesOf(head.files)));
    assert.equal(head.label, 'git HEAD');
    const run = spawnSync('node', [viommu, 'diff', 'v0.4', 'no-such-version'], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /`no-such-version` is not a version \(current, v0\.4, v0\.5/);
    const json = spawnSync('node', [viommu, 'diff', 'v0.9', 'v0.12-2019', '--json'], {
      encoding: 'utf8',
    });
    assert.equal(json.status, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as SpecDiff;
    assert.equal(parsed.from, 'v0.9');
    assert.ok(
      parsed.abi.every((f) =>
        ['missing', 'extra', 'value', 'type', 'layout', 'rename'].includes(f.kind),
      ),
    );
  });
});
