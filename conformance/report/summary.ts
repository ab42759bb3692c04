// The one tally of a conformance report: the `summary` the runner and driver-check write and
// that every reader checks against the verdicts (read.ts).

import type {
  ReportSummary,
  RobustnessOutcome,
  RobustnessProbe,
  StatementVerdict,
} from '../../dist/ts/schemas/conformance-report.js';

/** A robustness outcome that is a finding against the device (not `ok`, not `error`). */
export const isRobustnessFinding = (outcome: RobustnessOutcome): boolean =>
  outcome !== 'ok' && outcome !== 'error';

/** The `summary` a report must carry for these verdicts and robustness outcomes. */
export function summarizeVerdicts(
  verdicts: readonly StatementVerdict[],
  robustness: readonly RobustnessProbe[] = [],
): ReportSummary {
  const summary: ReportSummary = {
    pass: 0,
    fail: 0,
    notApplicable: 0,
    untested: 0,
    error: 0,
    mustFailures: 0,
    definedFailures: 0,
    shouldDeviations: 0,
    robustnessFindings: robustness.filter((p) => isRobustnessFinding(p.outcome)).length,
  };
  for (const v of verdicts) {
    if (v.verdict === 'pass') summary.pass++;
    else if (v.verdict === 'not-applicable') summary.notApplicable++;
    else if (v.verdict === 'untested') summary.untested++;
    else if (v.verdict === 'error') summary.error++;
    else {
      summary.fail++;
      if (v.level.startsWith('MUST')) summary.mustFailures++;
      else if (v.level === 'DEFINED') summary.definedFailures++;
      else if (v.level.startsWith('SHOULD')) summary.shouldDeviations++;
    }
  }
  return summary;
}
