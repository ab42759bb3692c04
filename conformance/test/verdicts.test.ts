// From test records to verdicts and a report that matches the schema.

import assert from 'node:assert/strict';
import { loadCases, type Cases, type CaseStatement } from '../cases.js';
import { checkReportSchema } from '../report/json.js';
import { formatJunitReport } from '../report/junit.js';
import type { ConformanceReport } from '../report/types.js';
import type { TestRecord } from '../suite/harness.js';
import { UNTESTED } from '../suite/untested.js';
import { computeVerdicts, exitCode, summarize } from '../verdicts.js';

const statement = (id: string, level: CaseStatement['level']): CaseStatement => ({
  id,
  role: 'device',
  level,
  section: 's',
  sectionTitle: 'S',
  text: '',
  names: [],
  scenarios: [],
  source: { file: 'f', line: 1, column: 1 },
});
const cases: Cases = {
  title: 't',
  version: '0',
  statements: [
    statement('dev.a', 'MUST'),
    statement('dev.b', 'SHOULD'),
    statement('dev.c', 'SHOULD'),
    statement('dev.d', 'MAY'),
    statement('dev.attach.compatible', 'SHOULD'),
    statement('dev.e', 'DEFINED'),
  ],
};
const record = (
  title: string,
  outcome: TestRecord['outcome'],
  extra: Partial<TestRecord> = {},
): TestRecord => ({
  title,
  statements: [title.slice(1, title.indexOf(']'))],
  outcome,
  durationMs: 3,
  ...extra,
});

describe('verdicts', () => {
  const records = [
    record('[dev.a] one', 'pass'),
    record('[dev.a] two', 'fail', {
      evidence: { message: 'status S_OK', request: '01', reply: '00', expected: 'status S_INVAL' },
    }),
    record('[dev.b] one', 'pass'),
    record('[dev.b] two', 'not-applicable', { reason: 'needs F_PROBE: not offered' }),
    record('[dev.c] one', 'not-applicable', { reason: 'needs F_PROBE: not offered' }),
    record('[dev.e] one', 'fail', { evidence: { message: 'reached 0x2000, not 0x1000' } }),
  ];
  const verdicts = computeVerdicts(cases, records);

  it('fails on any failed test, passes on a pass, is not applicable when every test is', () => {
    assert.deepEqual(
      verdicts.map((v) => [v.statement, v.verdict]),
      [
        ['dev.a', 'fail'],
        ['dev.b', 'pass'],
        ['dev.c', 'not-applicable'],
        ['dev.d', 'untested'],
        ['dev.attach.compatible', 'untested'],
        ['dev.e', 'fail'],
      ],
    );
    assert.equal(verdicts[0]!.reason, 'status S_OK');
    assert.equal(verdicts[3]!.reason, 'no test checks this statement');
    assert.match(verdicts[4]!.reason!, /compatible/);
  });

  it('counts MUST and DEFINED failures and SHOULD deviations; MUST and DEFINED exit 1, a SHOULD only with --strict', () => {
    const summary = summarize(verdicts);
    assert.deepEqual(summary, {
      pass: 1,
      fail: 2,
      notApplicable: 1,
      untested: 2,
      mustFailures: 1,
      definedFailures: 1,
      shouldDeviations: 0,
    });
    assert.equal(exitCode(summary, false), 1);
    assert.equal(exitCode({ ...summary, mustFailures: 0 }, false), 1, 'a DEFINED failure is fatal');
    assert.equal(exitCode({ ...summary, definedFailures: 0 }, false), 1, 'a MUST failure is fatal');
    const deviation = { ...summary, mustFailures: 0, definedFailures: 0, shouldDeviations: 1 };
    assert.equal(exitCode(deviation, false), 0);
    assert.equal(exitCode(deviation, true), 1);
  });

  it('makes a report the schema accepts, with the evidence in JUnit too', () => {
    const report: ConformanceReport = {
      tool: { name: 'viommu conform', version: '0.1.0' },
      target: { name: 'ref', description: 'test' },
      startedAt: new Date(0).toISOString(),
      durationMs: 5,
      verdicts,
      summary: summarize(verdicts),
      robustness: [{ probe: 'short-tail', outcome: 'ok', durationMs: 1 }],
    };
    checkReportSchema(report);
    assert.throws(() => checkReportSchema({ ...report, summary: {} }), /does not match its schema/);
    const xml = formatJunitReport(report);
    assert.match(xml, /<failure message="status S_OK"/);
    assert.match(xml, /expected: status S_INVAL/);
    assert.match(xml, /name="ref: dev.e \(DEFINED\)"/);
    assert.throws(
      () => checkReportSchema({ ...report, summary: { ...report.summary, definedFailures: -1 } }),
      /definedFailures/,
    );
  });
});

describe('the list of statements no test can check', () => {
  it('names only device statements of dist/cases.json (a retired ID would go unnoticed)', () => {
    const device = new Set(
      loadCases()
        .statements.filter((s) => s.role === 'device')
        .map((s) => s.id),
    );
    assert.deepEqual(
      Object.keys(UNTESTED).filter((id) => !device.has(id)),
      [],
    );
  });
});
