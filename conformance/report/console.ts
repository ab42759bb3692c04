// The console report: a progress bar while the tests run, then a table of verdicts with the
// evidence of each failure.

import cliProgress from 'cli-progress';
import type { TestRecord } from '../suite/harness.js';
import type { ConformanceReport } from './types.js';

export class ConsoleProgress {
  readonly #bar: cliProgress.SingleBar;
  readonly #counts = { pass: 0, fail: 0, skip: 0 };

  constructor(
    readonly target: string,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.#bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${target} [{bar}] {value}/{total} tests | pass {pass} fail {fail} skipped {skip} | {title}`,
        hideCursor: true,
        clearOnComplete: false,
        noTTYOutput: !stream.isTTY,
        notTTYSchedule: 5000,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(total: number): void {
    this.#bar.start(total, 0, { ...this.#counts, title: '' });
  }

  test(record: TestRecord): void {
    if (record.outcome === 'pass') this.#counts.pass++;
    else if (record.outcome === 'fail') this.#counts.fail++;
    else this.#counts.skip++;
    this.#bar.increment({ ...this.#counts, title: record.title.slice(0, 60) });
  }

  stop(): void {
    this.#bar.stop();
  }
}

const pad = (text: string, width: number): string =>
  text.length >= width ? text : text + ' '.repeat(width - text.length);

/** The verdict table and, below it, what each failed test saw. */
export function formatConsoleReport(report: ConformanceReport): string {
  const width = Math.max(...report.verdicts.map((v) => v.statement.length), 9);
  const lines = [`Conformance of ${report.target.name} (${report.target.description})`, ''];
  lines.push(`${pad('statement', width)}  ${pad('level', 10)}  ${pad('verdict', 14)}  reason`);
  for (const v of report.verdicts) {
    const reason = v.verdict === 'pass' ? '' : (v.reason ?? '').split('\n')[0]!.slice(0, 100);
    lines.push(`${pad(v.statement, width)}  ${pad(v.level, 10)}  ${pad(v.verdict, 14)}  ${reason}`);
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
  const s = report.summary;
  lines.push(
    '',
    `${s.pass} pass, ${s.fail} fail (${s.mustFailures} MUST, ${s.definedFailures} DEFINED, ${s.shouldDeviations} SHOULD), ${s.notApplicable} not applicable, ${s.untested} untested; ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return `${lines.join('\n')}\n`;
}
