// From test records to one verdict per device statement: fail if a test failed, pass if one
// passed, not-applicable if every test needed a feature the device does not offer, untested
// otherwise (with the reason: the tests' own, or the UNTESTED list's).

import type { Cases } from './cases.js';
import type { ReportSummary, ReportTest, StatementVerdict } from './report/types.js';
import type { TestRecord } from './suite/harness.js';
import { UNTESTED } from './suite/untested.js';

function reportTest(record: TestRecord): ReportTest {
  const outcome = record.outcome === 'pass' ? 'pass' : record.outcome === 'fail' ? 'fail' : 'skip';
  const evidence =
    record.evidence ??
    (record.reason === undefined ? undefined : { message: `${record.outcome}: ${record.reason}` });
  return {
    title: record.title,
    outcome,
    durationMs: record.durationMs,
    ...(evidence && { evidence }),
  };
}

const unique = (reasons: Array<string | undefined>): string =>
  [...new Set(reasons.filter((r): r is string => r !== undefined))].join('; ');

export function computeVerdicts(
  cases: Cases,
  records: TestRecord[],
  only?: string,
): StatementVerdict[] {
  const verdicts: StatementVerdict[] = [];
  for (const statement of cases.statements) {
    if (statement.role !== 'device') continue;
    if (only !== undefined && !statement.id.startsWith(only)) continue;
    const mine = records.filter((r) => r.statements.includes(statement.id));
    const base = { statement: statement.id, level: statement.level, tests: mine.map(reportTest) };
    const failed = mine.filter((r) => r.outcome === 'fail');
    if (failed.length > 0) {
      verdicts.push({
        ...base,
        verdict: 'fail',
        reason: unique(failed.map((r) => r.evidence?.message)) || 'a test failed',
      });
    } else if (mine.some((r) => r.outcome === 'pass')) {
      verdicts.push({ ...base, verdict: 'pass' });
    } else if (mine.length > 0 && mine.every((r) => r.outcome === 'not-applicable')) {
      verdicts.push({
        ...base,
        verdict: 'not-applicable',
        reason: unique(mine.map((r) => r.reason)),
      });
    } else {
      const reason =
        unique(mine.map((r) => r.reason)) ||
        UNTESTED[statement.id] ||
        'no test checks this statement';
      verdicts.push({ ...base, verdict: 'untested', reason });
    }
  }
  return verdicts;
}

export function summarize(verdicts: StatementVerdict[]): ReportSummary {
  const summary: ReportSummary = {
    pass: 0,
    fail: 0,
    notApplicable: 0,
    untested: 0,
    mustFailures: 0,
    definedFailures: 0,
    shouldDeviations: 0,
  };
  for (const v of verdicts) {
    if (v.verdict === 'pass') summary.pass++;
    else if (v.verdict === 'not-applicable') summary.notApplicable++;
    else if (v.verdict === 'untested') summary.untested++;
    else {
      summary.fail++;
      if (v.level.startsWith('MUST')) summary.mustFailures++;
      else if (v.level === 'DEFINED') summary.definedFailures++;
      else if (v.level.startsWith('SHOULD')) summary.shouldDeviations++;
    }
  }
  return summary;
}

/** Exit status of a run: 1 on a MUST or DEFINED failure, or on a SHOULD deviation with `strict`. */
export function exitCode(summary: ReportSummary, strict: boolean): number {
  const fatal = summary.mustFailures + summary.definedFailures;
  return fatal > 0 || (strict && summary.shouldDeviations > 0) ? 1 : 0;
}
