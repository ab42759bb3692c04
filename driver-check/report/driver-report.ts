// The judgement of one captured driver as a conformance report
// (schemas/conformance-report.schema.json), so that `viommu render --results` and the matrix
// show a driver as a column like any device: "linux-6.12 (strict)". Each verdict carries its
// evidence: the request's bytes, what the statement asks, and what the driver did.

import type { Level } from '../../dist/ts/schemas/cases.js';
import { checkReport } from '../../conformance/report/read.js';
import { summarizeVerdicts } from '../../conformance/report/summary.js';
import type {
  ConformanceReport,
  StatementVerdict,
  TestResult,
} from '../../dist/ts/schemas/conformance-report.js';
import type { CaptureEvent } from '../log/event-log.js';
import type { Judgement } from '../judge/judge.js';

export interface DriverReportInput {
  capture: CaptureEvent;
  judgement: Judgement;
  durationMs: number;
  tool: { name: string; version: string };
}

/** `linux-6.12 (strict)`: the kernel's major.minor and the mode. */
export function driverTargetName(kernelRelease: string, mode: string): string {
  const version = /^(\d+\.\d+)/.exec(kernelRelease)?.[1] ?? kernelRelease;
  return `linux-${version} (${mode})`;
}

export function driverReport({
  capture,
  judgement,
  durationMs,
  tool,
}: DriverReportInput): ConformanceReport {
  const verdicts = judgement.verdicts.map((v): StatementVerdict => {
    const tests: TestResult[] =
      v.verdict === 'fail'
        ? v.violations.map((violation) => ({
            title: violation.request
              ? `request #${violation.request.seq} (log line ${violation.request.line})`
              : 'configuration access',
            outcome: 'fail',
            durationMs: 0,
            evidence: {
              ...(violation.request && { request: violation.request.readable }),
              expected: v.text,
              message: violation.message,
            },
          }))
        : v.verdict === 'pass'
          ? [{ title: v.reason, outcome: 'pass', durationMs: 0 }]
          : [];
    return {
      statement: v.statement,
      level: v.level as Level,
      verdict: v.verdict,
      ...(v.verdict !== 'pass' && { reason: v.reason }),
      tests,
    };
  });
  const report: ConformanceReport = {
    tool,
    target: {
      name: driverTargetName(capture.kernel, capture.mode),
      description: [
        `Linux ${capture.kernel}`,
        capture.source,
        `${capture.mode} mode`,
        capture.qemu,
        `${judgement.requests.total} requests captured`,
      ]
        .filter(Boolean)
        .join(', '),
    },
    startedAt: capture.startedAt,
    durationMs: Math.round(durationMs),
    verdicts,
    summary: summarizeVerdicts(verdicts),
    observations: judgement.observations.map((o) => ({
      kind: o.kind,
      message: o.message,
      count: o.count,
      ...(o.request && { request: o.request.readable }),
    })),
  };
  return checkReport(report, `the report of ${report.target.name}`);
}

/**
 * 1 when the driver failed a MUST or sent a request no device can serve (an all-zero one, for
 * instance), else 0.
 */
export function driverExitCode(report: ConformanceReport): number {
  const unserved = (report.observations ?? []).some((o) => o.kind === 'unserved');
  return report.summary.mustFailures > 0 || unserved ? 1 : 0;
}
