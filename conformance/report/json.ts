// The JSON report, checked against schemas/conformance-report.schema.json before it is written.

import { writeFile } from 'node:fs/promises';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { validate } from '../../dist/ts/validators/conformance-report.js';

/** Throws, naming each problem, when `report` does not match the schema. */
export function checkReportSchema(report: unknown): asserts report is ConformanceReport {
  if (!validate(report)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '(top level)'} ${e.message ?? 'is invalid'}`,
    );
    throw new Error(`the conformance report does not match its schema: ${problems.join('; ')}`);
  }
}

export function formatJsonReport(report: ConformanceReport): string {
  checkReportSchema(report);
  return `${JSON.stringify(report, null, 2)}\n`;
}

export async function writeJsonReport(report: ConformanceReport, path: string): Promise<void> {
  await writeFile(path, formatJsonReport(report));
}
