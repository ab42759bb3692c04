// From test records to one verdict per device statement. Each test says what it found about
// each statement it judged (TestRecord.judged); a statement's verdict is:
//   fail            some test saw the device break it (the evidence is that test's own);
//   error           else, some test could not judge it because the suite broke (never the device's);
//   pass            else, some test passed it (for a MAY: with whether the option is present);
//   not-applicable  else, every test needed a feature the device does not offer;
//   untested        otherwise, with the reason (the tests' own, or the UNTESTED list's).

import type {
  ReportSummary,
  StatementVerdict,
  TestResult,
} from '../dist/ts/schemas/conformance-report.js';
import type { Cases } from './cases.js';
import type { StatementOutcome, TestRecord } from './suite/harness.js';
import { UNTESTED } from './suite/untested.js';

function reportTest(record: TestRecord, found: StatementOutcome): TestResult {
  const outcome =
    found.outcome === 'pass' || found.outcome === 'fail' || found.outcome === 'error'
      ? found.outcome
      : 'skip';
  const evidence =
    found.evidence ??
    (found.reason === undefined
      ? undefined
      : { message: outcome === 'skip' ? `${found.outcome}: ${found.reason}` : found.reason });
  return {
    title: record.title,
    outcome,
    durationMs: record.durationMs,
    ...(evidence && { evidence }),
  };
}

const unique = (reasons: Array<string | undefined>): string =>
  [...new Set(reasons.filter((r): r is string => r !== undefined))].join('; ');

/** The first line of a suite error's stack: its message. */
const firstLine = (text: string | undefined): string | undefined => text?.split('\n')[0];

export function computeVerdicts(
  cases: Cases,
  records: TestRecord[],
  only?: string,
): StatementVerdict[] {
  const verdicts: StatementVerdict[] = [];
  for (const statement of cases.statements) {
    if (statement.role !== 'device') continue;
    if (only !== undefined && !statement.id.startsWith(only)) continue;
    const mine = records.flatMap((record) => {
      const found = record.judged[statement.id];
      return found === undefined ? [] : [{ record, found }];
    });
    const outcomes = mine.map((m) => m.found);
    const base = {
      statement: statement.id,
      level: statement.level,
      tests: mine.map((m) => reportTest(m.record, m.found)),
    };
    const having = (outcome: StatementOutcome['outcome']): StatementOutcome[] =>
      outcomes.filter((o) => o.outcome === outcome);
    if (having('fail').length > 0) {
      verdicts.push({
        ...base,
        verdict: 'fail',
        reason: unique(having('fail').map((o) => o.evidence?.message)) || 'a test failed',
      });
    } else if (having('error').length > 0) {
      verdicts.push({
        ...base,
        verdict: 'error',
        reason: unique(having('error').map((o) => firstLine(o.reason))) || 'the suite failed',
      });
    } else if (having('pass').length > 0) {
      const passed = having('pass');
      const options = passed.flatMap((o) => (o.option === undefined ? [] : [o.option]));
      const option =
        options.length === 0 ? undefined : options.includes('present') ? 'present' : 'absent';
      const notes = unique(passed.map((o) => o.reason));
      verdicts.push({
        ...base,
        verdict: 'pass',
        ...(notes !== '' && { reason: notes }),
        ...(option !== undefined && { option }),
      });
    } else if (mine.length > 0 && mine.every((m) => m.found.outcome === 'not-applicable')) {
      verdicts.push({
        ...base,
        verdict: 'not-applicable',
        reason: unique(outcomes.map((o) => o.reason)),
      });
    } else {
      const reason =
        unique(outcomes.map((o) => o.reason)) ||
        UNTESTED[statement.id] ||
        'no test checks this statement';
      verdicts.push({ ...base, verdict: 'untested', reason });
    }
  }
  return verdicts;
}

/**
 * Exit status of a run: 1 when the device fails (a MUST or DEFINED statement, a robustness
 * finding such as a crash guest input caused, or with `strict` a SHOULD); else 2 when the run
 * stopped before every test ran; else 0. Suite errors alone never fail the device.
 */
export function exitCode(summary: ReportSummary, strict: boolean, stopped = false): number {
  if (
    summary.mustFailures > 0 ||
    summary.definedFailures > 0 ||
    summary.robustnessFindings > 0 ||
    (strict && summary.shouldDeviations > 0)
  )
    return 1;
  return stopped ? 2 : 0;
}
