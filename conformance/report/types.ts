// A conformance report as schemas/conformance-report.schema.json describes it.

import type { Level } from '../../generator/model.js';
import type { Evidence } from '../scenario/expectation.js';

export type VerdictValue = 'pass' | 'fail' | 'not-applicable' | 'untested';

export interface ReportTest {
  title: string;
  outcome: 'pass' | 'fail' | 'skip';
  durationMs: number;
  evidence?: Evidence;
}

export interface StatementVerdict {
  statement: string;
  level: Level;
  verdict: VerdictValue;
  reason?: string;
  tests: ReportTest[];
}

export interface ReportSummary {
  pass: number;
  fail: number;
  notApplicable: number;
  untested: number;
  mustFailures: number;
  /** Failed DEFINED statements: the device does not do what the operation is. Fatal, like MUST. */
  definedFailures: number;
  shouldDeviations: number;
}

export interface RobustnessFinding {
  probe: string;
  outcome: 'ok' | 'crash' | 'hang' | 'isolation-breach';
  durationMs: number;
  message?: string;
}

export interface ConformanceReport {
  tool: { name: string; version: string };
  target: { name: string; description: string };
  startedAt: string;
  durationMs: number;
  verdicts: StatementVerdict[];
  summary: ReportSummary;
  robustness?: RobustnessFinding[];
}
