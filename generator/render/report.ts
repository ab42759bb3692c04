// Conformance reports (schemas/conformance-report.schema.json): the types, the tally that fills
// `summary`, and the check that `viommu render --results` runs on every report it reads.

import { readFileSync } from 'node:fs';
import type { Level } from '../model.js';
import { assertValid } from '../schemas.js';

export type VerdictValue = 'pass' | 'fail' | 'not-applicable' | 'untested' | 'error';

export interface TestEvidence {
  request?: string;
  reply?: string;
  expected?: string;
  message?: string;
}

export interface TestResult {
  title: string;
  outcome: 'pass' | 'fail' | 'skip' | 'error';
  durationMs: number;
  evidence?: TestEvidence;
}

export interface StatementVerdict {
  statement: string;
  level: Level;
  verdict: VerdictValue;
  reason?: string;
  /** For a MAY statement that passed: whether the device does the optional thing. */
  option?: 'present' | 'absent';
  tests: TestResult[];
}

export interface ReportSummary {
  pass: number;
  fail: number;
  notApplicable: number;
  untested: number;
  error: number;
  mustFailures: number;
  /** Failed DEFINED statements: the device does not do what the operation is. Fatal, like MUST. */
  definedFailures: number;
  shouldDeviations: number;
  /** Robustness findings: crashes, hangs, broken devices and isolation breaches guest input caused. */
  robustnessFindings: number;
}

export type RobustnessOutcome = 'ok' | 'crash' | 'hang' | 'broken' | 'isolation-breach' | 'error';

export interface RobustnessProbe {
  probe: string;
  outcome: RobustnessOutcome;
  durationMs: number;
  message?: string;
}

/** What a driver did that no statement covers (viommu driver-check). */
export interface DriverObservation {
  kind: 'unserved' | 'unforeseen' | 'device-disagrees';
  message: string;
  count: number;
  request?: string;
}

export interface ConformanceReport {
  tool: { name: string; version: string };
  target: { name: string; description: string };
  startedAt: string;
  durationMs: number;
  /** Why the run stopped before every test ran (the rest are `error`). */
  stopped?: string;
  verdicts: StatementVerdict[];
  summary: ReportSummary;
  robustness?: RobustnessProbe[];
  observations?: DriverObservation[];
}

/** A robustness outcome that is a finding against the device (not `ok`, not `error`). */
export const isRobustnessFinding = (outcome: RobustnessOutcome): boolean =>
  outcome !== 'ok' && outcome !== 'error';

/** The `summary` a report must carry for these verdicts and robustness outcomes. */
export function summarizeVerdicts(
  verdicts: StatementVerdict[],
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

/** Checks `data` against the schema and for consistency; `what` names it in errors. */
export function checkReport(data: unknown, what: string): ConformanceReport {
  assertValid('conformance-report.schema.json', data, what);
  const report = data as ConformanceReport;
  const seen = new Set<string>();
  for (const v of report.verdicts) {
    if (seen.has(v.statement))
      throw new Error(`${what}: statement ${v.statement} has more than one verdict`);
    seen.add(v.statement);
  }
  const expected = summarizeVerdicts(report.verdicts, report.robustness);
  const wrong = (Object.keys(expected) as (keyof ReportSummary)[]).filter(
    (k) => expected[k] !== report.summary[k],
  );
  if (wrong.length) {
    const detail = wrong
      .map((k) => `${k} is ${report.summary[k]}, the verdicts give ${expected[k]}`)
      .join('; ');
    throw new Error(`${what}: the summary does not match the verdicts: ${detail}`);
  }
  return report;
}

/** Reads and checks a report file; `shownAs` is the path to print in errors. */
export function readReport(path: string, shownAs: string): ConformanceReport {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason =
      error instanceof SyntaxError
        ? `it is not JSON (${error.message})`
        : (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'no such file'
          : (error as Error).message;
    throw new Error(`${shownAs}: cannot read the report: ${reason}`);
  }
  return checkReport(data, shownAs);
}

/** Reports shown together must be of different targets: the target names the matrix column. */
export function assertDistinctTargets(reports: ConformanceReport[]): void {
  const seen = new Set<string>();
  for (const r of reports) {
    if (seen.has(r.target.name))
      throw new Error(
        `Two reports are for target "${r.target.name}"; give each target its own name`,
      );
    seen.add(r.target.name);
  }
}
