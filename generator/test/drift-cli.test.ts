// `viommu drift`, the command: its output for people and as JSON, its exit status, the
// profile and cross-compiler options, and what it prints of a hostile header.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ALLOW_LIST } from '../drift/allow-list.js';
import { SYSTEM_HEADER, type DriftReport } from '../drift/drift.js';
import { packageRoot } from '../paths.js';
import { CROSS, needCrossCompiler, NO_COMPILER } from './c-compiler.js';

describe('viommu drift (the command)', () => {
  const viommu = join(packageRoot, 'build', 'cli', 'viommu.js');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [viommu, 'drift', ...args], { encoding: 'utf8' });

  it('exits 0 on the system header, listing the accepted differences for people', () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^viommu drift: \/usr\/include\/linux\/virtio_iommu\.h against The virtio-iommu device/,
    );
    assert.match(
      r.stdout,
      /\/usr\/include\/linux\/virtio_iommu\.h:\d+: likely rename: virtio_iommu_fault\.reserved1 \(__le32\) is reserved2 \(__u8\[4\]\)/,
    );
    assert.match(
      r.stdout,
      /\n5 findings: 0 drift, 5 accepted by generator\/drift\/allow-list\.json\n$/,
    );
  });

  it('exits 1 without the allow-list, and prints JSON with --json', () => {
    const r = run('--no-allow-list', '--json');
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as DriftReport;
    assert.equal(report.drift, 5);
    assert.equal(report.abi.measured, true);
    assert.deepEqual(Object.keys(report.findings[0]).sort(), [
      'actual',
      'header',
      'kind',
      'message',
      'subject',
    ]);
  });

  it('exits 0 with the linux profile', () => {
    const r = run('--profile', 'linux');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No drift: the header matches the spec with profile linux\./);
  });

  it('checks the ABI of another architecture with --cc and a cross compiler', function () {
    needCrossCompiler(this);
    const r = run('--cc', CROSS);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /\nABI measured with aarch64-linux-gnu-gcc for aarch64, 64-bit little-endian: sizeof, offsetof and macro values read from the compiled object, nothing run\n/,
    );
    assert.match(r.stdout, /\n5 findings: 0 drift, 5 accepted/);
  });

  it('says that the ABI check was skipped when there is no compiler', () => {
    const r = run('--cc', NO_COMPILER);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ABI check skipped: no C compiler/);
  });

  it('escapes the control characters of a hostile header in what it prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-escape-'));
    try {
      // An escape sequence in a macro's text reaches the report; one in the file name, the error.
      const header = join(dir, 'evil.h');
      const text = readFileSync(SYSTEM_HEADER, 'utf8').replace(
        /#endif[^\n]*\n?$/,
        "#define VIRTIO_IOMMU_EVIL ('\x1b' + '\x07')\n#endif\n",
      );
      writeFileSync(header, text);
      const r = run('--no-allow-list', header);
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stdout,
        /extra in header: VIRTIO_IOMMU_EVIL = \('\\x1b' \+ '\\x07'\) \(0x22\)/,
      );
      const named = join(dir, 'evil\x1b[2J.h');
      writeFileSync(named, text);
      const refused = run(named);
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /evil\\x1b\[2J\.h/);
      const printed = r.stdout + r.stderr + refused.stdout + refused.stderr;
      assert.ok(
        !printed.includes('\x1b') && !printed.includes('\x07'),
        'a raw control character was printed',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // One command each: every case spawns the CLI (and most the C compiler), so together they
  // outgrow one test's time limit on a loaded machine.
  it('exits 2 on an unknown option', () => {
    assert.equal(run('--no-such-option').status, 2);
  });

  it('exits 2 on a header that does not exist', () => {
    assert.equal(run('/nonexistent/header.h').status, 2);
  });

  it('exits 2 on an unknown profile', () => {
    assert.equal(run('--profile', 'nonexistent').status, 2);
  });

  it('exits 2 when the C compiler writes no object file', () => {
    const noObject = run('--cc', 'true');
    assert.equal(noObject.status, 2);
    assert.match(noObject.stderr, /the C compiler \(true\) ended well but wrote no object file\n$/);
  });

  it('exits 2 on an allow-list entry without a reason, 0 on a copy of the default list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-allow-'));
    try {
      writeFileSync(join(dir, 'allow.json'), '{"accepted": [{"kind": "extra", "subject": "X"}]}');
      const r = run('--allow-list', join(dir, 'allow.json'));
      assert.equal(r.status, 2);
      assert.match(r.stderr, /reason/);
      copyFileSync(DEFAULT_ALLOW_LIST, join(dir, 'copy.json'));
      assert.equal(run('--allow-list', join(dir, 'copy.json')).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
