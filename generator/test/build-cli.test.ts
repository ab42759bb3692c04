// `viommu build --spec` on broken folders, end to end: file-system problems are diagnostics
// with the path (never a stack trace), a statement that vanishes without being retired fails
// the build naming where it was last seen, and control characters from the spec reach the
// terminal escaped. Each case writes nothing.

import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

const CLI = join(packageRoot, 'build', 'cli', 'viommu.js');
const NOBODY = 65534;

describe('viommu build --spec on a broken folder', function () {
  this.timeout(60_000);
  let dir: string;
  let out: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-build-cli-'));
    chmodSync(dir, 0o755);
    out = join(dir, 'out');
    mkdirSync(out);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** `viommu build --spec SPEC --out OUT`, run from `dir` so that paths read short. */
  function build(spec: string, options: SpawnSyncOptions = {}) {
    const run = spawnSync(process.execPath, [CLI, 'build', '--spec', spec, '--out', out], {
      cwd: dir,
      encoding: 'utf8',
      ...options,
    });
    return { status: run.status, stdout: String(run.stdout), stderr: String(run.stderr) };
  }

  /** A copy of spec-src/ at `dir/name`. */
  function specCopy(name = 'spec'): string {
    const copy = join(dir, name);
    cpSync(join(packageRoot, 'spec-src'), copy, { recursive: true });
    return copy;
  }

  function assertDiagnosed(run: ReturnType<typeof build>, path: string, reason: RegExp): void {
    assert.equal(run.status, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
    assert.match(
      run.stderr,
      new RegExp(`^${path.replace(/[.]/g, '\\.')}\\n.*${reason.source}`, 'm'),
    );
    assert.match(run.stderr, /nothing was written/);
    assert.deepEqual(readdirSync(out), [], 'nothing written');
  }

  it('a --spec folder that does not exist, or is a file', () => {
    assertDiagnosed(build('missing'), 'missing', /The spec folder does not exist/);
    writeFileSync(join(dir, 'spec.md'), '# A file\n');
    assertDiagnosed(build('spec.md'), 'spec.md', /This is a file, not a folder/);
  });

  it('a loop of links, a dangling link and a folder named like a Markdown file', () => {
    specCopy();
    symlinkSync('10-loop.md', join(dir, 'spec', '10-loop.md'));
    symlinkSync('nowhere.md', join(dir, 'spec', '11-dangling.md'));
    mkdirSync(join(dir, 'spec', '12-folder.md'));
    const run = build('spec');
    assertDiagnosed(run, 'spec/10-loop.md', /a loop of symbolic links/);
    assertDiagnosed(run, 'spec/11-dangling.md', /a symbolic link to nothing/);
    assertDiagnosed(run, 'spec/12-folder.md', /This is a folder, not a file/);
    assert.match(run.stderr, /✖ 3 errors/);
  });

  it('a file that cannot be read', () => {
    specCopy();
    chmodSync(join(dir, 'spec', '02-configuration.md'), 0);
    // root reads any file: run the build as nobody then, who cannot.
    const asNobody = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
    chmodSync(out, 0o777);
    assertDiagnosed(
      build('spec', asNobody),
      'spec/02-configuration.md',
      /The file cannot be read: permission denied/,
    );
  });

  it('a statement that vanishes without being retired fails, naming where it was last seen', () => {
    const spec = specCopy();
    mkdirSync(join(out, 'dist'));
    const recorded = readFileSync(join(packageRoot, 'dist', 'spec.json'), 'utf8');
    writeFileSync(join(out, 'dist', 'spec.json'), recorded);
    writeFileSync(join(spec, '03-initialization.md'), '');

    const run = build('spec');
    assert.equal(run.status, 1, run.stderr);
    const lost = [...run.stderr.matchAll(/Statement `([a-z.-]+)` is gone/g)].map((m) => m[1]);
    assert.deepEqual(lost.sort(), [
      'dev.init.reset-detached',
      'drv.init.map-unmap',
      'drv.init.probe-before-attach',
    ]);
    assert.match(run.stderr, /^spec-src\/03-initialization\.md$/m, 'the file it was last seen in');
    assert.match(
      run.stderr,
      /last seen here \(spec-src\/03-initialization\.md:\d+, as out\/dist\/spec\.json records it\)/,
    );
    assert.match(run.stderr, /retire its ID by adding it to spec\/retired-ids\.txt/);
    assert.equal(readFileSync(join(out, 'dist', 'spec.json'), 'utf8'), recorded, 'nothing written');
    assert.deepEqual(readdirSync(join(out, 'dist')), ['spec.json']);

    // Retired, the three IDs may go.
    const retired = join(spec, 'retired-ids.txt');
    writeFileSync(
      retired,
      `${readFileSync(retired, 'utf8')}dev.init.reset-detached\ndrv.init.map-unmap\ndrv.init.probe-before-attach\n`,
    );
    const again = build('spec');
    assert.equal(again.status, 0, again.stderr);
  });

  it('a last model that cannot be read stops the build, naming the file', () => {
    specCopy();
    mkdirSync(join(out, 'dist'));
    writeFileSync(join(out, 'dist', 'spec.json'), '<<<<<<< HEAD\n');
    const run = build('spec');
    assert.equal(run.status, 1, run.stderr);
    assert.match(
      run.stderr,
      /^out\/dist\/spec\.json\n.*The last model cannot be read \(it is not JSON\)/m,
    );
  });

  it('viommu check names a stray file of dist/ with its control characters escaped', () => {
    const spec = specCopy();
    const built = build('spec');
    assert.equal(built.status, 0, built.stderr);
    writeFileSync(join(out, 'dist', 'stray\x1b[2K\r.h'), '');
    const run = spawnSync(process.execPath, [CLI, 'check', '--spec', spec, '--out', out], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(
      run.stderr,
      /viommu check: dist\/stray\\x1b\[2K\\x0d\.h: not produced by viommu gen/,
    );
    assert.ok(!run.stderr.includes('\x1b') && !run.stderr.includes('\r'), 'no raw ESC or CR');
  });

  it('prints control characters from the spec escaped: names, titles and file names', () => {
    const spec = specCopy();
    const overview = join(spec, '01-overview.md');
    const text = readFileSync(overview, 'utf8');
    writeFileSync(
      overview,
      text
        .replace('# The virtio-iommu device', '# The \x1b]0;owned\x07virtio-iommu device')
        .replace('`input_range` tells', '`input\x1b[2J\x1b[Hrange\u202e` tells'),
    );
    writeFileSync(join(spec, '09-\x1b[31mred\r\x9b.md'), 'Text with `a\x7fname`.\n');

    const run = build('spec');
    assert.equal(run.status, 1);
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/u;
    assert.doesNotMatch(run.stderr, raw, 'no raw control character reaches the terminal');
    assert.match(run.stderr, /`input\\x1b\[2J\\x1b\[Hrange\\u202e` is not a name of the model/);
    assert.match(run.stderr, /^spec\/09-\\x1b\[31mred\\x0d\\x9b\.md$/m);
    assert.match(run.stderr, /`a\\x7fname` is not a name of the model/);

    // Once the names are fixed, the title with its controls reaches the summary escaped.
    writeFileSync(
      overview,
      text.replace('# The virtio-iommu device', '# The \x1b]0;owned\x07device'),
    );
    rmSync(join(spec, '09-\x1b[31mred\r\x9b.md'));
    const built = build('spec');
    assert.equal(built.status, 0, built.stderr);
    assert.doesNotMatch(built.stdout, raw);
    assert.match(built.stdout, /^The \\x1b\]0;owned\\x07device \(device ID 23\)/);
  });
});
