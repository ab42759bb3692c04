// The JUnit XML report of a driver: a test suite per driver statement, a test case per check,
// and one suite for the observations, for CI dashboards.

import junitModule, { type Builder } from 'junit-report-builder';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';

// A CommonJS module whose exports object is the builder itself, whatever its typings say.
const junit = junitModule as unknown as Builder;

export function formatDriverJunit(report: ConformanceReport): string {
  const builder = junit.newBuilder();
  for (const v of report.verdicts) {
    const suite = builder.testSuite().name(`${report.target.name}: ${v.statement} (${v.level})`);
    if (v.tests.length === 0) {
      suite
        .testCase()
        .className(v.statement)
        .name(v.verdict)
        .skipped()
        .standardOutput(v.reason ?? '');
    }
    for (const test of v.tests) {
      const testCase = suite.testCase().className(v.statement).name(test.title);
      const details = Object.entries(test.evidence ?? {})
        .map(([key, value]) => `${key}: ${value}`)
        .join('\n');
      if (test.outcome === 'fail')
        testCase.failure(test.evidence?.message ?? 'failed').stacktrace(details);
    }
  }
  const observations = report.observations ?? [];
  if (observations.length > 0) {
    const suite = builder.testSuite().name(`${report.target.name}: observations`);
    for (const o of observations) {
      const testCase = suite
        .testCase()
        .className('observation')
        .name(`${o.kind}: ${o.message.slice(0, 120)}`);
      const text = `${o.message}\ncount: ${o.count}${o.request ? `\nrequest: ${o.request}` : ''}`;
      if (o.kind === 'unserved') testCase.failure(o.message).stacktrace(text);
      else testCase.standardOutput(text);
    }
  }
  return builder.build();
}
