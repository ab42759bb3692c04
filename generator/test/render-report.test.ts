// Conformance reports: the schema both sides agree on, and the checks viommu render adds.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertDistinctTargets, checkReport, readReport } from '../../conformance/report/read.js';
import { summarizeVerdicts } from '../../conformance/report/summary.js';
import type {
  ConformanceReport,
  StatementVerdict,
} from '../../dist/ts/schemas/conformance-report.js';
import { fixtureReports } from './render-fixture.js';

const clone = (r: ConformanceReport): ConformanceReport => structuredClone(r);

describe('render: conformance reports', () => {
  let ref: ConformanceReport;
  let qemu: ConformanceReport;
  before(() => {
    [ref, qemu] = fixtureReports();
  });

  it('reads the fixture reports', () => {
    assert.equal(ref.target.name, 'ref');
    assert.equal(qemu.verdicts[0].tests[0].evidence?.reply, '00000000');
  });

  it('tallies verdicts and robustness findings into the summary, MUST NOT, SHOULD NOT and DEFINED included, a suite error never a failure', () => {
    const v = (
      level: StatementVerdict['level'],
      verdict: StatementVerdict['verdict'],
    ): StatementVerdict => ({
      statement: 'dev.x.y',
      level,
      verdict,
      tests: [],
    });
    assert.deepEqual(
      summarizeVerdicts(
        [
          v('MUST NOT', 'fail'),
          v('MUST', 'fail'),
          v('SHOULD NOT', 'fail'),
          v('MAY', 'fail'),
          v('SHOULD', 'pass'),
          v('MUST', 'untested'),
          v('MAY', 'not-applicable'),
          v('DEFINED', 'fail'),
          v('DEFINED', 'pass'),
          v('MUST', 'error'),
        ],
        [
          { probe: 'a', outcome: 'ok', durationMs: 1 },
          { probe: 'b', outcome: 'crash', durationMs: 1 },
          { probe: 'c', outcome: 'error', durationMs: 1 },
          { probe: 'd', outcome: 'isolation-breach', durationMs: 1 },
        ],
      ),
      {
        pass: 2,
        fail: 5,
        notApplicable: 1,
        untested: 1,
        error: 1,
        mustFailures: 2,
        definedFailures: 1,
        shouldDeviations: 1,
        robustnessFindings: 2,
      },
    );
  });

  it('rejects what the schema forbids, naming the place', () => {
    const bad = clone(ref) as unknown as { verdicts: { verdict: string }[] };
    bad.verdicts[0].verdict = 'passed';
    assert.throws(
      () => checkReport(bad, 'bad.json'),
      /bad\.json does not match schemas\/conformance-report\.schema\.json:[\s\S]*\/verdicts\/0\/verdict/,
    );

    const hex = clone(qemu);
    hex.verdicts[0].tests[0].evidence = { request: '0x01' };
    assert.throws(
      () => checkReport(hex, 'hex.json'),
      /\/verdicts\/0\/tests\/0\/evidence\/request must match pattern/,
    );

    const time = clone(ref);
    time.startedAt = 'yesterday';
    assert.throws(() => checkReport(time, 'time.json'), /\/startedAt must match pattern/);
  });

  it('requires a reason for untested and not-applicable verdicts', () => {
    const r = clone(qemu);
    delete r.verdicts[2].reason;
    assert.throws(
      () => checkReport(r, 'r.json'),
      /\/verdicts\/2 must have required property 'reason'/,
    );
  });

  it('rejects a summary that does not match the verdicts', () => {
    const r = clone(qemu);
    r.summary.mustFailures = 0;
    assert.throws(
      () => checkReport(r, 'r.json'),
      /r\.json: the summary does not match the verdicts: mustFailures is 0, the verdicts give 1/,
    );
  });

  it('rejects two verdicts on one statement', () => {
    const r = clone(ref);
    r.verdicts.push({ ...r.verdicts[0] });
    r.summary = summarizeVerdicts(r.verdicts);
    assert.throws(
      () => checkReport(r, 'r.json'),
      /statement dev\.attach\.reserved has more than one verdict/,
    );
  });

  it('says why a file cannot be read, with the path as given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-report-'));
    try {
      writeFileSync(join(dir, 'broken.json'), '{ "tool": ');
      assert.throws(
        () => readReport(join(dir, 'broken.json'), 'reports/broken.json'),
        /^Error: reports\/broken\.json: cannot read the report: it is not JSON/,
      );
      assert.throws(
        () => readReport(join(dir, 'none.json'), 'reports/none.json'),
        /reports\/none\.json: cannot read the report: no such file$/,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('refuses two reports for one target', () => {
    assert.doesNotThrow(() => assertDistinctTargets([ref, qemu]));
    assert.throws(
      () => assertDistinctTargets([ref, qemu, clone(ref)]),
      /Two reports are for target "ref"/,
    );
  });
});
