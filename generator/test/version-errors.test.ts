// Mistakes in the version documents reach the editor as file:line:col, all of them in one
// run, and nothing is written.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

const viommu = join(packageRoot, 'build', 'cli', 'viommu.js');

describe('errors in spec versions', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-version-errors-'));
    cpSync(join(packageRoot, 'spec-src'), join(dir, 'spec'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const edit = (file: string, from: string, to: string) => {
    const path = join(dir, 'spec', 'versions', file);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.includes(from), `${file} has ${from}`);
    writeFileSync(path, text.replace(from, to));
  };
  const build = (version: string) =>
    spawnSync('node', [viommu, 'build', '--spec', 'spec', '--version', version, '--out', 'out'], {
      cwd: dir,
      encoding: 'utf8',
    });

  it('reports every change that refers to what its base lacks, each at its place', () => {
    edit(
      'v0.7.md',
      '## Changed: UNMAP request',
      '## Changed: UNMAP request\n\n```c\n#define VIRTIO_IOMMU_S_BUSY 9\n```',
    );
    edit('v0.12-2019.md', '- `VIRTIO_IOMMU_MAP_F_EXEC`', '- `VIRTIO_IOMMU_MAP_F_EXECUTE`');
    edit('v0.9.md', '## Changed: Fault reporting', '## Changed: Fault reports');
    edit('v0.9.md', 'struct virtio_iommu_fault {', 'struct virtio_iommu_fault_report {');
    const run = build('v0.12-2019');
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /spec\/versions\/v0\.7\.md\n(.*\n)*?\s*\d+:1\s+error Cannot change `VIRTIO_IOMMU_S_BUSY`: its base v0\.5 has no `VIRTIO_IOMMU_S_BUSY`/,
    );
    assert.match(
      run.stderr,
      /spec\/versions\/v0\.9\.md\n(.*\n)*?\s*\d+:1\s+error Cannot change struct `virtio_iommu_fault_report`: its base v0\.7 has no/,
    );
    assert.match(
      run.stderr,
      /spec\/versions\/v0\.12-2019\.md\n(.*\n)*?\s*64:3\s+error Cannot remove `VIRTIO_IOMMU_MAP_F_EXECUTE`: its base v0\.9 has no `VIRTIO_IOMMU_MAP_F_EXECUTE`; did you mean `VIRTIO_IOMMU_MAP_F_EXEC`\?/,
    );
    assert.match(run.stderr, /3 errors/);
    assert.ok(!existsSync(join(dir, 'out')), 'nothing written');
  });

  it('reports statement changes that do not fit, and a statement whose ID would be lost', () => {
    edit('v0.12-2019.md', '- `dev.attach.unknown-flags`', '- `dev.attach.unknown-flag`');
    edit('v0.12-2019.md', '- `dev.bypass.identity` Once', '- `dev.bypass.identical` Once');
    edit(
      'v0.12-2019.md',
      '- `dev.init.no-bypass-access` When',
      '- `dev.attach.reserved` The device MUST refuse a reserved ATTACH.\n\n- `dev.init.no-bypass-access` When',
    );
    const retired = join(dir, 'spec', 'retired-ids.txt');
    writeFileSync(
      retired,
      readFileSync(retired, 'utf8').replace(/^dev\.init\.no-bypass-access\n/m, ''),
    );
    const run = build('v0.12-2019');
    assert.equal(run.status, 1);
    const place = (line: number, col: number, text: string) =>
      new RegExp(`\\n\\s*${line}:${col}\\s+error ${text}`);
    assert.match(
      run.stderr,
      place(
        34,
        3,
        'Cannot remove statement `dev\\.attach\\.unknown-flag`: the current spec has no such statement; did you mean `dev\\.attach\\.unknown-flags`\\?',
      ),
    );
    assert.match(
      run.stderr,
      place(
        47,
        3,
        'Cannot change statement `dev\\.bypass\\.identical`: the current spec has no such statement',
      ),
    );
    assert.match(
      run.stderr,
      place(59, 3, 'Statement `dev\\.attach\\.reserved` is already in the current spec'),
    );
    assert.match(run.stderr, /4 errors/);
    assert.ok(!existsSync(join(dir, 'out')), 'nothing written');
  });

  it('reports a chain that loops and a base that does not exist', () => {
    edit('v0.4.md', 'base: none', 'base: v0.9');
    let run = build('v0.9');
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /spec\/versions\/v0\.4\.md\n\s*3:7\s+error The version chain loops: v0\.9 → v0\.7 → v0\.5 → v0\.4 → v0\.9/,
    );
    edit('v0.4.md', 'base: v0.9', 'base: v0.3');
    run = build('v0.5');
    assert.match(run.stderr, /v0\.4\.md\n\s*3:7\s+error There is no version `v0\.3`/);
    assert.ok(!existsSync(join(dir, 'out')), 'nothing written');
  });

  it('never writes or checks a historic version over the package dist/', () => {
    for (const command of ['gen', 'check']) {
      const run = spawnSync('node', [viommu, command, '--version', 'v0.9'], { encoding: 'utf8' });
      assert.equal(run.status, 2, command);
      assert.match(
        run.stderr,
        /--version v0\.9 needs --out DIR: dist\/ holds the current spec only/,
      );
    }
    const built = spawnSync('node', [viommu, 'build', '--version', 'v0.9'], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    assert.match(
      built.stdout,
      /version v0\.9 \(natural layout\)\n(.*\n)* {2}built; nothing written/,
    );
  });
});
