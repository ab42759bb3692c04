// The console report: a progress bar while the tests run, then a table of verdicts with the
// evidence of each failure and error, and the robustness probes.

import cliProgress from 'cli-progress';
import type { TestRecord } from '../suite/harness.js';
import { printable } from './printable.js';
import type {
  ConformanceReport,
  StatementVerdict,
} from '../../dist/ts/schemas/conformance-report.js';

export class ConsoleProgress {
  readonly #bar: cliProgress.SingleBar;
  readonly #counts = { pass: 0, fail: 0, error: 0, skip: 0 };

  constructor(
    readonly target: string,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.#bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${printable(target)} [{bar}] {value}/{total} tests | pass {pass} fail {fail} error {error} skipped {skip} | {title}`,
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
    else if (record.outcome === 'error') this.#counts.error++;
    else this.#counts.skip++;
    this.#bar.increment({ ...this.#counts, title: printable(record.title.slice(0, 60)) });
  }

  stop(): void {
    this.#bar.stop();
  }
}

const pad = (text: string, width: number): string =>
  text.length >= width ? text : text + ' '.repeat(width - text.length);

/** A verdict as the table shows it: a MAY's choice after a pass. */
const verdictText = (v: StatementVerdict): string =>
  v.option === undefined ? v.verdict : `${v.verdict} (${v.option})`;

/**
 * The verdict table, what each failed or errored test saw, the robustness probes, and the
 * totals. Everything that came from outside is escaped (printable()).
 */
export function formatConsoleReport(report: ConformanceReport): string {
  const width = Math.max(...report.verdicts.map((v) => v.statement.length), 9);
  const lines = [`Conformance of ${report.target.name} (${report.target.description})`, ''];
  lines.push(`${pad('statement', width)}  ${pad('level', 10)}  ${pad('verdict', 16)}  reason`);
  for (const v of report.verdicts) {
    const reason = v.verdict === 'pass' && v.option === undefined ? '' : firstLine(v.reason);
    lines.push(
      `${pad(v.statement, width)}  ${pad(v.level, 10)}  ${pad(verdictText(v), 16)}  ${reason}`,
    );
  }
  section(lines, 'Failures:', report, 'fail');
  section(lines, 'Errors of the suite itself (not counted against the device):', report, 'error');
  const probes = report.robustness ?? [];
  if (probes.length > 0) {
    const probeWidth = Math.min(Math.max(...probes.map((p) => p.probe.length), 5), 40);
    lines.push('', 'Robustness (broken driver input; a crash or hang is a denial of service):');
    for (const p of probes) {
      lines.push(
        `  ${pad(p.probe, probeWidth)}  ${pad(p.outcome, 16)}  ${firstLine(p.message, 200)}`,
      );
    }
  }
  const s = report.summary;
  lines.push(
    '',
    `${s.pass} pass, ${s.fail} fail (${s.mustFailures} MUST, ${s.definedFailures} DEFINED, ${s.shouldDeviations} SHOULD), ${s.notApplicable} not applicable, ${s.untested} untested, ${s.error} error; ${s.robustnessFindings} robustness findings; ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  if (report.stopped !== undefined)
    lines.push(`The run stopped early: ${report.stopped}. The tests it did not run are errors.`);
  return `${lines.map((line) => printable(line)).join('\n')}\n`;
}

function firstLine(text: string | undefined, length = 100): string {
  return (text ?? '').split('\n')[0]!.slice(0, length);
}

/** The tests with `outcome`, each with what it saw. */
function section(
  lines: string[],
  heading: string,
  report: ConformanceReport,
  outcome: 'fail' | 'error',
): void {
  const tests = report.verdicts.flatMap((v) =>
    v.tests.filter((t) => t.outcome === outcome).map((t) => ({ v, t })),
  );
  if (tests.length === 0) return;
  lines.push('', heading);
  for (const { v, t } of tests) {
    lines.push(`- ${v.statement} (${v.level}): ${t.title}`);
    for (const [key, value] of Object.entries(t.evidence ?? {})) {
      const [first, ...rest] = String(value).split('\n');
      lines.push(`    ${pad(key, 8)} ${first}`, ...rest.map((line) => `             ${line}`));
    }
  }
}
