// The reference device against the suite: every device statement passes, or is untested with
// a reason. Two boards: the default one (every feature of QEMU's q35) and one without
// F_PROBE and F_BYPASS_CONFIG, for the statements about devices that lack them.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REF_BOARD } from '../targets/ref.js';
import { runConformCli, type ConformRun } from './support/conform-cli.js';

const MINIMAL_FEATURES = [
  'VIRTIO_IOMMU_F_INPUT_RANGE',
  'VIRTIO_IOMMU_F_DOMAIN_RANGE',
  'VIRTIO_IOMMU_F_MAP_UNMAP',
  'VIRTIO_IOMMU_F_MMIO',
];

describe('conformance of device-ref', function () {
  this.timeout(600_000);
  const runs: ConformRun[] = [];
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'viommu-ref-board-'));
    const minimal = join(dir, 'minimal.json');
    await writeFile(
      minimal,
      JSON.stringify({
        ...REF_BOARD,
        name: 'q35-minimal',
        iommu: { ...REF_BOARD.iommu, features: MINIMAL_FEATURES },
      }),
    );
    runs.push(await runConformCli('ref'), await runConformCli('ref', ['--board', minimal]));
  });

  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('fails no statement on either board', () => {
    const failed = runs.flatMap((run) =>
      run.report.verdicts
        .filter((v) => v.verdict === 'fail')
        .map((v) => `${run.report.target.description}: ${v.statement}: ${v.reason}`),
    );
    assert.deepEqual(failed, []);
  });

  it('has no suite error and no robustness finding on either board', () => {
    const wrong = runs.flatMap((run) => [
      ...run.report.verdicts
        .filter((v) => v.verdict === 'error')
        .map((v) => `${run.report.target.description}: ${v.statement}: ${v.reason}`),
      ...(run.report.robustness ?? [])
        .filter((p) => p.outcome !== 'ok')
        .map((p) => `${run.report.target.description}: ${p.probe}: ${p.outcome} ${p.message}`),
    ]);
    assert.deepEqual(wrong, []);
  });

  it('passes every device statement on some board, or leaves it untested with a reason', () => {
    const [full, minimal] = runs;
    const unjudged = full!.report.verdicts.filter((v) => {
      const other = minimal!.report.verdicts.find((m) => m.statement === v.statement);
      if (v.verdict === 'pass' || other?.verdict === 'pass') return false;
      return !(v.verdict === 'untested' && v.reason !== undefined);
    });
    assert.deepEqual(
      unjudged.map((v) => `${v.statement}: ${v.verdict} (${v.reason})`),
      [],
    );
  });

  it('exits 0', () => {
    assert.deepEqual(
      runs.map((run) => run.code),
      [0, 0],
    );
  });
});
