// `viommu render` end to end: the files it writes, the PDF when Chromium is installed, and
// nothing written when a report is bad.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { findChromium } from '../render/pdf.js';

const CLI = join(packageRoot, 'build', 'cli', 'viommu.js');
const FIXTURE = 'generator/test/fixtures/render';

function render(...args: string[]) {
  const run = spawnSync(
    process.execPath,
    [CLI, 'render', '--spec', `${FIXTURE}/spec`, '--suite', `${FIXTURE}/suite`, ...args],
    {
      cwd: packageRoot,
      encoding: 'utf8',
    },
  );
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('render: viommu render', function () {
  this.timeout(60_000);
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'viommu-render-cli-'));
  });
  afterEach(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('writes the spec document, the matrix and, with Chromium, the PDF', () => {
    const reports = ['ref', 'qemu'].flatMap((t) => ['--results', `${FIXTURE}/reports/${t}.json`]);
    const run = render('--out', out, ...reports);
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      /wrote .*spec\.html: 6 statements, 4 with tests\n {2}wrote .*matrix\.html: ref, qemu\n/,
    );
    assert.match(
      run.stderr,
      /^warning: generator\/test\/fixtures\/render\/suite\/attach\.ts:6: test "a test of a statement that no longer exists" is tagged \[dev\.attach\.gone\], not a statement of the spec\n$/,
    );
    assert.match(
      readFileSync(join(out, 'spec.html'), 'utf8'),
      /<a href="matrix\.html">Conformance matrix<\/a>/,
    );
    assert.match(
      readFileSync(join(out, 'matrix.html'), 'utf8'),
      /<a href="spec\.html">Specification<\/a>/,
    );
    if (findChromium()) {
      assert.match(run.stdout, /wrote .*spec\.pdf\n/);
      assert.equal(readFileSync(join(out, 'spec.pdf')).subarray(0, 5).toString('latin1'), '%PDF-');
    } else {
      assert.match(run.stdout, /no spec\.pdf: Chromium is not installed/);
    }
    assert.deepEqual(
      readdirSync(out).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });

  it('without reports writes the spec document alone', () => {
    const run = render('--out', out, '--no-pdf');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(readdirSync(out), ['spec.html']);
  });

  it('writes nothing when a report is bad, and says why', () => {
    writeFileSync(join(out, 'bad.json'), JSON.stringify({ tool: { name: 'x', version: '1' } }));
    const run = render('--out', join(out, 'site'), '--results', join(out, 'bad.json'));
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /bad\.json does not match schemas\/conformance-report\.schema\.json:\n {2}\/ must have required property 'target'/,
    );
    assert.match(run.stderr, /nothing was written/);
    assert.equal(existsSync(join(out, 'site')), false);
  });
});
