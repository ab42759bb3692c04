// `viommu gen` and `viommu check`: what gen writes is what check expects, and check names
// every file that is stale, missing or not generated at all. The linux profile is printed
// on demand and never lands in dist/.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staleFiles } from '../stale-files.js';
import { distOutputs, draftOutputs } from '../outputs.js';
import { schemaOutputs } from '../schema-outputs.js';
import { packageRoot } from '../paths.js';
import { applyProfile, loadProfile, type Profile } from '../profiles/profile.js';
import { cView } from '../emit/c-view.js';
import { specModel, specModelWithDrafts } from './spec-model.js';

const viommu = join(packageRoot, 'build', 'cli', 'viommu.js');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [viommu, ...args], { encoding: 'utf8' });

describe('viommu gen and viommu check', () => {
  let out: string;
  before(() => {
    out = mkdtempSync(join(tmpdir(), 'viommu-gen-'));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('gen writes all of dist/, and check then finds it up to date', async function () {
    this.timeout(60_000);
    const gen = run('gen', '--out', out);
    assert.equal(gen.status, 0, gen.stderr);
    const drafts = run('gen', '--drafts', '--out', out);
    assert.equal(drafts.status, 0, drafts.stderr);
    for (const path of [...distOutputs(specModel()).keys(), ...(await schemaOutputs()).keys()])
      assert.ok(readFileSync(join(out, path), 'utf8').length > 0, path);
    const check = run('check', '--out', out);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /^dist\/ is up to date \(\d+ files\)\n$/);
  });

  it('check fails and names each stale, missing and stray file', async function () {
    // check builds the spec twice: alone, and with its drafts for dist/drafts/.
    this.timeout(60_000);
    const codecs = join(out, 'dist', 'ts', 'codecs.ts');
    writeFileSync(
      codecs,
      readFileSync(codecs, 'utf8').replace(
        'export function decodeMapRequest',
        'export function decodeMapRequest2',
      ),
    );
    unlinkSync(join(out, 'dist', 'include', 'linux', 'virtio_iommu.h'));
    writeFileSync(join(out, 'dist', 'ts', 'old.ts'), '');
    const check = run('check', '--out', out);
    assert.equal(check.status, 1);
    assert.match(check.stderr, /viommu check: dist\/include\/linux\/virtio_iommu\.h: missing\n/);
    assert.match(
      check.stderr,
      /viommu check: dist\/ts\/codecs\.ts: differs from what spec-src gives \(from line \d+\)\n/,
    );
    assert.match(check.stderr, /viommu check: dist\/ts\/old\.ts: not produced by viommu gen\n/);
    const expected = new Map([
      ...distOutputs(specModel()),
      ...(await schemaOutputs()),
      ...draftOutputs(specModelWithDrafts()),
    ]);
    assert.deepEqual(
      staleFiles(out, expected).map((p) => p.split(':')[0]),
      ['dist/include/linux/virtio_iommu.h', 'dist/ts/codecs.ts', 'dist/ts/old.ts'],
    );
  });

  it('gen --profile linux prints the profile header, or writes it with -o', () => {
    const printed = run('gen', '--profile', 'linux');
    assert.equal(printed.status, 0, printed.stderr);
    assert.match(printed.stdout, /#define VIRTIO_IOMMU_PROBE_T_MASK\t+0xfff\n/);
    const file = join(out, 'linux.h');
    assert.equal(run('gen', '--profile', 'linux', '-o', file).status, 0);
    assert.equal(readFileSync(file, 'utf8'), printed.stdout);
    const unknown = run('gen', '--profile', 'bsd');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /There is no profile `bsd`; profiles: linux/);
  });
});

describe('profiles', () => {
  const base: Profile = { name: 'test', description: 'test', defines: [], renames: [], fields: [] };
  const apply = (p: Partial<Profile>) => applyProfile(cView(specModel()), { ...base, ...p });

  it('loads the linux profile, every name with a reason', () => {
    const linux = loadProfile('linux');
    for (const entry of [...linux.defines, ...linux.renames, ...linux.fields])
      assert.ok(entry.reason.length > 20);
  });

  it('refuses names the spec lacks, names it has, unknown values and fields of another size', () => {
    assert.throws(
      () => apply({ renames: [{ define: 'VIRTIO_IOMMU_X_MASK', as: 'Y', reason: 'r' }] }),
      /does not define/,
    );
    assert.throws(
      () => apply({ defines: [{ name: 'VIRTIO_IOMMU_S_OK', expression: '0', reason: 'r' }] }),
      /already defined/,
    );
    assert.throws(
      () => apply({ defines: [{ name: 'VIRTIO_IOMMU_S_X', expression: 'NOPE + 1', reason: 'r' }] }),
      /not an expression/,
    );
    assert.throws(
      () => apply({ defines: [{ name: 'OTHER_Q_X', expression: '1', reason: 'r' }] }),
      /no group/,
    );
    assert.throws(
      () =>
        apply({
          fields: [
            {
              struct: 'virtio_iommu_fault',
              field: 'reserved1',
              as: 'r2',
              type: 'u8',
              count: 8,
              reason: 'r',
            },
          ],
        }),
      /would be 8 bytes; the spec field is 4/,
    );
    assert.throws(
      () =>
        apply({
          fields: [
            { struct: 'virtio_iommu_fault', field: 'nope', as: 'r2', type: 'u8', reason: 'r' },
          ],
        }),
      /does not have/,
    );
  });

  it('puts an extra name in its group, in value order', () => {
    const view = apply({
      defines: [{ name: 'VIRTIO_IOMMU_FAULT_F_EXEC', expression: '(1 << 2)', reason: 'r' }],
    });
    const group = view.items.find(
      (i) => i.kind === 'defines' && i.defines.some((d) => d.name === 'VIRTIO_IOMMU_FAULT_F_EXEC'),
    );
    assert.ok(group?.kind === 'defines');
    assert.deepEqual(
      group.defines.map((d) => d.name),
      [
        'VIRTIO_IOMMU_FAULT_F_READ',
        'VIRTIO_IOMMU_FAULT_F_WRITE',
        'VIRTIO_IOMMU_FAULT_F_EXEC',
        'VIRTIO_IOMMU_FAULT_F_ADDRESS',
      ],
    );
  });
});
