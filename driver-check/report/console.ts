// The console report of a driver: the verdict table, each failure with its evidence, the
// observations, and the summary line.

import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';

const pad = (text: string, width: number): string => text.padEnd(width);

export function formatDriverConsole(
  report: ConformanceReport,
  requestsByType: Record<string, number>,
): string {
  const width = Math.max(...report.verdicts.map((v) => v.statement.length));
  const lines = [`Driver conformance of ${report.target.name}: ${report.target.description}`];
  lines.push(
    `  requests: ${Object.entries(requestsByType)
      .map(([type, n]) => `${n} ${type.replace('VIRTIO_IOMMU_T_', '')}`)
      .join(', ')}`,
    '',
  );
  lines.push(`${pad('statement', width)}  ${pad('level', 10)}  ${pad('verdict', 14)}  reason`);
  for (const v of report.verdicts) {
    const reason = v.verdict === 'pass' ? (v.tests[0]?.title ?? '') : (v.reason ?? '');
    lines.push(
      `${pad(v.statement, width)}  ${pad(v.level, 10)}  ${pad(v.verdict, 14)}  ${reason.slice(0, 110)}`,
    );
  }
  const failures = report.verdicts.flatMap((v) =>
    v.tests.filter((t) => t.outcome === 'fail').map((t) => ({ v, t })),
  );
  if (failures.length > 0) lines.push('', 'Failures:');
  for (const { v, t } of failures) {
    lines.push(`- ${v.statement} (${v.level}): ${t.title}`);
    for (const [key, value] of Object.entries(t.evidence ?? {}))
      lines.push(`    ${pad(key, 8)} ${value}`);
  }
  const observations = report.observations ?? [];
  if (observations.length > 0) lines.push('', 'Observations (no statement covers these):');
  for (const o of observations) {
    lines.push(`- ${o.kind}${o.count > 1 ? ` (${o.count} requests)` : ''}: ${o.message}`);
    if (o.request) lines.push(`    request  ${o.request}`);
  }
  const s = report.summary;
  lines.push(
    '',
    `${s.pass} pass, ${s.fail} fail (${s.mustFailures} MUST, ${s.shouldDeviations} SHOULD), ${s.notApplicable} not applicable, ${s.untested} untested; ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return `${lines.join('\n')}\n`;
}
