// From test records to verdicts and a report that matches the schema.

import assert from 'node:assert/strict';
import { loadCases, type Cases, type CaseStatement } from '../cases.js';
import { checkReportSchema } from '../report/json.js';
import { formatConsoleReport } from '../report/console.js';
import { formatJunitReport } from '../report/junit.js';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import type { TestRecord } from '../suite/harness.js';
import { UNTESTED } from '../suite/untested.js';
import { computeVerdicts, exitCode } from '../verdicts.js';
import { summarizeVerdicts } from '../report/summary.js';

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
): TestRecord => {
  const statement = title.slice(1, title.indexOf(']'));
  return {
    title,
    statements: [statement],
    outcome,
    durationMs: 3,
    judged: {
      [statement]: {
        outcome,
        ...(extra.reason !== undefined && { reason: extra.reason }),
        ...(extra.evidence !== undefined && { evidence: extra.evidence }),
      },
    },
    ...extra,
  };
};

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
    const summary = summarizeVerdicts(verdicts);
    assert.deepEqual(summary, {
      pass: 1,
      fail: 2,
      notApplicable: 1,
      untested: 2,
      error: 0,
      mustFailures: 1,
      definedFailures: 1,
      shouldDeviations: 0,
      robustnessFindings: 0,
    });
    assert.equal(exitCode(summary, false), 1);
    assert.equal(exitCode({ ...summary, mustFailures: 0 }, false), 1, 'a DEFINED failure is fatal');
    assert.equal(exitCode({ ...summary, definedFailures: 0 }, false), 1, 'a MUST failure is fatal');
    const deviation = { ...summary, mustFailures: 0, definedFailures: 0, shouldDeviations: 1 };
    assert.equal(exitCode(deviation, false), 0);
    assert.equal(exitCode(deviation, true), 1);
  });

  it('fails the run on a robustness finding; a run that stopped early exits 2; suite errors alone 0', () => {
    const clean = summarizeVerdicts([]);
    assert.equal(exitCode({ ...clean, robustnessFindings: 1 }, false), 1);
    assert.equal(exitCode(clean, false, true), 2);
    assert.equal(exitCode({ ...clean, mustFailures: 1 }, false, true), 1);
    assert.equal(exitCode({ ...clean, error: 5 }, false), 0);
    assert.equal(
      summarizeVerdicts(
        [],
        [
          { probe: 'a', outcome: 'crash', durationMs: 1 },
          { probe: 'b', outcome: 'ok', durationMs: 1 },
          { probe: 'c', outcome: 'error', durationMs: 1 },
        ],
      ).robustnessFindings,
      1,
    );
  });

  it('makes a report the schema accepts, with the evidence in JUnit too', () => {
    const report: ConformanceReport = {
      tool: { name: 'viommu conform', version: '0.1.0' },
      target: { name: 'ref', description: 'test' },
      startedAt: new Date(0).toISOString(),
      durationMs: 5,
      verdicts,
      summary: summarizeVerdicts(verdicts),
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

describe('verdicts from outcomes per statement', () => {
  const judged = (title: string, outcomes: TestRecord['judged']): TestRecord => ({
    title,
    statements: Object.keys(outcomes),
    outcome: 'pass',
    durationMs: 1,
    judged: outcomes,
  });

  it('takes each statement from its own outcome: a MUST found by a SHOULD test, a suite error apart', () => {
    const verdicts = computeVerdicts(cases, [
      judged('[dev.b] t', {
        'dev.b': { outcome: 'untested', reason: 'the test stopped at a failure of dev.a' },
        'dev.a': { outcome: 'fail', evidence: { message: 'reserved not checked' } },
      }),
      judged('[dev.c] one', { 'dev.c': { outcome: 'pass' } }),
      judged('[dev.c] two', { 'dev.c': { outcome: 'error', reason: 'TypeError: x\n    at y' } }),
    ]);
    const byId = Object.fromEntries(verdicts.map((v) => [v.statement, v]));
    assert.equal(byId['dev.a']!.verdict, 'fail');
    assert.equal(byId['dev.a']!.reason, 'reserved not checked');
    assert.equal(byId['dev.b']!.verdict, 'untested');
    assert.equal(byId['dev.c']!.verdict, 'error');
    assert.equal(byId['dev.c']!.reason, 'TypeError: x');
    assert.deepEqual(
      byId['dev.c']!.tests.map((t) => t.outcome),
      ['pass', 'error'],
    );
    assert.equal(summarizeVerdicts(verdicts).error, 1);
    assert.equal(summarizeVerdicts(verdicts).fail, 1);
  });

  it('passes a MAY whether or not the device takes the option, and says which', () => {
    const verdict = (options: Array<'present' | 'absent'>) =>
      computeVerdicts(
        cases,
        options.map((option, i) =>
          judged(`[dev.d] ${i}`, {
            'dev.d': { outcome: 'pass', option, reason: `option ${option}: x` },
          }),
        ),
        'dev.d',
      )[0]!;
    assert.equal(verdict(['absent']).verdict, 'pass');
    assert.equal(verdict(['absent']).option, 'absent');
    assert.equal(verdict(['absent', 'present']).option, 'present');
    assert.equal(verdict(['absent']).reason, 'option absent: x');
  });

  it('shows errors, options and robustness findings in the console and in JUnit', () => {
    const verdicts = computeVerdicts(cases, [
      judged('[dev.c] two', { 'dev.c': { outcome: 'error', reason: 'TypeError: x\n    at y' } }),
      judged('[dev.d] one', {
        'dev.d': { outcome: 'pass', option: 'absent', reason: 'option absent: x' },
      }),
    ]);
    const robustness: ConformanceReport['robustness'] = [
      { probe: 'probe-short-buffer', outcome: 'crash', durationMs: 5, message: 'SIGABRT' },
      { probe: 'map-inverted-range', outcome: 'ok', durationMs: 5, message: 'fine' },
    ];
    const report: ConformanceReport = {
      tool: { name: 'viommu conform', version: '0.1.0' },
      target: { name: 'qemu', description: 'test' },
      startedAt: new Date(0).toISOString(),
      durationMs: 5,
      verdicts,
      summary: summarizeVerdicts(verdicts, robustness),
      robustness,
    };
    checkReportSchema(report);
    const text = formatConsoleReport(report);
    assert.match(text, /dev\.c +SHOULD +error +TypeError: x\n/);
    assert.match(text, /dev\.d +MAY +pass \(absent\) +option absent: x\n/);
    assert.match(text, /Errors of the suite itself \(not counted against the device\):\n- dev\.c/);
    assert.match(text, /\n {2}probe-short-buffer +crash +SIGABRT\n/);
    assert.match(text, /1 error; 1 robustness findings;/);
    const xml = formatJunitReport(report);
    assert.match(xml, /<error message="TypeError: x" type="SuiteError">/);
    assert.match(xml, /<failure message="crash: SIGABRT" type="crash"\/>/);
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
