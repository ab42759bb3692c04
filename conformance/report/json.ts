// The JSON report, checked against schemas/conformance-report.schema.json before it is written.

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { packageRoot } from '../../generator/paths.js';
import type { ConformanceReport } from './types.js';

export const REPORT_SCHEMA_PATH = join(packageRoot, 'schemas', 'conformance-report.schema.json');

const Ajv = AjvModule.default;
let validate: ReturnType<InstanceType<typeof Ajv>['compile']> | undefined;

/** Throws, naming each problem, when `report` does not match the schema. */
export function checkReportSchema(report: unknown): asserts report is ConformanceReport {
  validate ??= new Ajv({ allErrors: true }).compile(
    JSON.parse(readFileSync(REPORT_SCHEMA_PATH, 'utf8')),
  );
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
