// Reading conformance reports (schemas/conformance-report.schema.json) back, for `viommu
// render --results`, the matrix and driver-check's baseline: the schema check by the
// generated validator, then the checks a schema cannot say (one verdict per statement, a
// summary that is the tally of the verdicts).

import { readFileSync } from 'node:fs';
import type { ConformanceReport, ReportSummary } from '../../dist/ts/schemas/conformance-report.js';
import { validate } from '../../dist/ts/validators/conformance-report.js';
import { summarizeVerdicts } from './summary.js';

/** Checks `data` against the schema and for consistency; `what` names it in errors. */
export function checkReport(data: unknown, what: string): ConformanceReport {
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`,
    );
    throw new Error(
      `${what} does not match schemas/conformance-report.schema.json:\n  ${problems.join('\n  ')}`,
    );
  }
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
