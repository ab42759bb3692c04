// The JUnit XML report: a test suite per statement, a test case per test, for CI dashboards.
// A suite error is a JUnit <error> (not a <failure>: it is not the device's). The robustness
// probes are one more suite; a crash, hang or isolation breach is a <failure>.

import junitModule, { type Builder } from 'junit-report-builder';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';

// A CommonJS module whose exports object is the builder itself, whatever its typings say.
const junit = junitModule as unknown as Builder;

export function formatJunitReport(report: ConformanceReport): string {
  const builder = junit.newBuilder();
  for (const verdict of report.verdicts) {
    const suite = builder
      .testSuite()
      .name(`${report.target.name}: ${verdict.statement} (${verdict.level})`);
    if (verdict.tests.length === 0) {
      const testCase = suite.testCase().className(verdict.statement).name(`${verdict.verdict}`);
      if (verdict.verdict === 'error') testCase.error(verdict.reason ?? 'suite error');
      else testCase.skipped().standardOutput(verdict.reason ?? '');
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
      else if (test.outcome === 'error')
        testCase.error(evidence?.message?.split('\n')[0] ?? 'suite error', 'SuiteError', details);
      else if (test.outcome === 'skip') testCase.skipped().standardOutput(details ?? '');
      else if (details !== undefined) testCase.standardOutput(details);
    }
  }
  const probes = report.robustness ?? [];
  if (probes.length > 0) {
    const suite = builder.testSuite().name(`${report.target.name}: robustness`);
    for (const probe of probes) {
      const testCase = suite
        .testCase()
        .className('robustness')
        .name(probe.probe)
        .time(probe.durationMs / 1000);
      const message = probe.message ?? probe.outcome;
      if (probe.outcome === 'error') testCase.error(message, 'SuiteError');
      else if (probe.outcome !== 'ok')
        testCase.failure(`${probe.outcome}: ${message}`, probe.outcome);
      else testCase.standardOutput(message);
    }
  }
  if (report.stopped !== undefined) {
    builder
      .testSuite()
      .name(`${report.target.name}: run`)
      .testCase()
      .className('run')
      .name('the run completed')
      .error(`the run stopped early: ${report.stopped}`, 'RunStopped');
  }
  return builder.build();
}
