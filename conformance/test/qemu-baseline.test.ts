// The suite against real QEMU, compared with the recorded baseline: any verdict that changes
// fails until conformance/baselines/qemu-7.2.json is updated on purpose.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { runConformCli, type ConformRun } from './support/conform-cli.js';

interface Baseline {
  qemuVersion: string;
  verdicts: Record<string, string>;
  deviations: Record<string, string>;
  robustness: Record<string, string>;
  robustnessFindings: Record<string, string>;
}

const baseline = JSON.parse(
  readFileSync(join(packageRoot, 'conformance', 'baselines', 'qemu-7.2.json'), 'utf8'),
) as Baseline;

describe('conformance of QEMU 7.2 against its baseline', function () {
  this.timeout(600_000);
  let run: ConformRun;

  before(async () => {
    run = await runConformCli('qemu');
  });

  it('is the QEMU version the baseline was recorded with', () => {
    assert.ok(
      run.report.target.description.startsWith(baseline.qemuVersion),
      `baseline for "${baseline.qemuVersion}", target is "${run.report.target.description}"`,
    );
  });

  it('gives every statement the verdict the baseline records', () => {
    const changed = run.report.verdicts
      .filter((v) => baseline.verdicts[v.statement] !== v.verdict)
      .map(
        (v) =>
          `${v.statement}: baseline ${baseline.verdicts[v.statement] ?? 'none'}, now ${v.verdict}${v.reason ? ` (${v.reason})` : ''}`,
      );
    const missing = Object.keys(baseline.verdicts).filter(
      (id) => !run.report.verdicts.some((v) => v.statement === id),
    );
    assert.deepEqual([...changed, ...missing.map((id) => `${id}: no verdict now`)], []);
  });

  it('describes every recorded failure as a deviation with its evidence', () => {
    const failures = Object.entries(baseline.verdicts)
      .filter(([, v]) => v === 'fail')
      .map(([id]) => id);
    assert.deepEqual(failures.sort(), Object.keys(baseline.deviations).sort());
  });

  it('exits 1, since a MUST and a DEFINED statement fail', () => {
    const { mustFailures, definedFailures } = run.report.summary;
    assert.ok(mustFailures > 0 && definedFailures > 0, JSON.stringify(run.report.summary));
    assert.equal(run.code, 1);
  });

  it('describes every recorded robustness finding with its evidence', () => {
    const findings = Object.entries(baseline.robustness)
      .filter(([, outcome]) => outcome !== 'ok')
      .map(([probe]) => probe);
    assert.deepEqual(findings.sort(), Object.keys(baseline.robustnessFindings).sort());
  });

  it('gives the robustness outcomes the baseline records', () => {
    const outcomes = Object.fromEntries(
      (run.report.robustness ?? []).map((p) => [p.probe, p.outcome]),
    );
    assert.deepEqual(outcomes, baseline.robustness);
  });
});
