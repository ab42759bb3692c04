// The JUnit XML report: a test suite per statement, a test case per test, for CI dashboards.

import junitModule, { type Builder } from 'junit-report-builder';
import type { ConformanceReport } from './types.js';

// A CommonJS module whose exports object is the builder itself, whatever its typings say.
const junit = junitModule as unknown as Builder;

export function formatJunitReport(report: ConformanceReport): string {
  const builder = junit.newBuilder();
  for (const verdict of report.verdicts) {
    const suite = builder
      .testSuite()
      .name(`${report.target.name}: ${verdict.statement} (${verdict.level})`);
    if (verdict.tests.length === 0) {
      suite
        .testCase()
        .className(verdict.statement)
        .name(`${verdict.verdict}`)
        .skipped()
        .standardOutput(verdict.reason ?? '');
    }
    for (const test of verdict.tests) {
      const testCase = suite
        .testCase()
        .className(verdict.statement)
        .name(test.title)
        .time(test.durationMs / 1000);
      const evidence = test.evidence;
      const details =
        evidence &&
        Object.entries(evidence)
          .map(([key, value]) => `${key}: ${value}`)
          .join('\n');
      if (test.outcome === 'fail')
        testCase.failure(evidence?.message ?? 'failed').stacktrace(details ?? '');
      else if (test.outcome === 'skip') testCase.skipped().standardOutput(details ?? '');
    }
  }
  return builder.build();
}
