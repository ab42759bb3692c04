// One conformance run against one target: the suite, the verdicts, the robustness probes, and
// the reports (JSON validated by the schema, JUnit XML). The HTML matrix is drawn by the CLI.
// A crash or hang during a conformance test is a robustness finding too (`test: TITLE`): guest
// input brought the device down. The run stops early, and says why, when its time limit is
// reached or the target stops answering; what did not run is an `error`.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCases, type Cases } from './cases.js';
import { ConsoleProgress } from './report/console.js';
import { writeJsonReport } from './report/json.js';
import type {
  ConformanceReport,
  RobustnessProbe as RobustnessFinding,
} from '../dist/ts/schemas/conformance-report.js';
import { RunControl, type TestRecord } from './suite/harness.js';
import type { TargetChoice } from './targets/select.js';
import { withTarget } from './targets/with-target.js';
import { computeVerdicts } from './verdicts.js';
import { summarizeVerdicts } from './report/summary.js';

export interface ConformanceOptions extends TargetChoice {
  only?: string;
  /** Folder for <target>.json and <target>.junit.xml; none written when absent. */
  reportsDir?: string;
  /** Show a progress bar on stderr. */
  progress?: boolean;
  /** Skip the robustness probes. */
  noProbes?: boolean;
  /** The whole run's time limit (`--time-limit`). */
  timeLimitMs?: number;
  /** Longest a single test may take (default 60 s). */
  testTimeoutMs?: number;
  /** Tests in a row whose target never answers before the run stops (default 3). */
  unreachableLimit?: number;
  tool: { name: string; version: string };
  cases?: Cases;
}

export interface ConformanceResult {
  report: ConformanceReport;
  /** Paths of the reports written. */
  written: string[];
}

/** A file name for the target: `unix:/run/x.sock` → `unix-run-x.sock`. */
export function reportBaseName(target: string): string {
  return target.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** The conformance tests during which the device crashed or hung, as robustness findings. */
function testDenials(records: readonly TestRecord[]): RobustnessFinding[] {
  return records.flatMap((r) =>
    r.denial === undefined
      ? []
      : [
          {
            probe: `test: ${r.title}`,
            outcome: r.denial.kind,
            durationMs: r.durationMs,
            message: r.denial.message,
          },
        ],
  );
}

export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult> {
  const began = performance.now();
  const control = new RunControl({
    ...(options.timeLimitMs !== undefined && { timeLimitMs: options.timeLimitMs }),
    ...(options.unreachableLimit !== undefined && { unreachableLimit: options.unreachableLimit }),
  });
  const { target, run, probes, cases } = await withTarget(options, async (selected) => {
    // Loaded once the target is selected: device-ref starts meanwhile (targets/select.ts). The
    // suite's modules are most of what a run loads, ~0.2 s.
    const [{ runConformanceSuite }, { runRobustnessProbes }] = await Promise.all([
      import('./suite/build-suite.js'),
      import('./robustness/probes.js'),
    ]);
    const cases = options.cases ?? loadCases();
    const progress = options.progress === true ? new ConsoleProgress(selected.name) : undefined;
    const suiteRun = await runConformanceSuite(cases, {
      makeTarget: selected.make,
      lanes: selected.lanes,
      control,
      ...(options.testTimeoutMs !== undefined && { testTimeoutMs: options.testTimeoutMs }),
      ...(options.only !== undefined && { only: options.only }),
      ...(progress && {
        onStart: (total: number) => progress.start(total),
        onTest: (r) => progress.test(r),
      }),
    });
    progress?.stop();
    const findings =
      options.noProbes === true
        ? []
        : await runRobustnessProbes(selected.make, control, selected.lanes);
    const { name, description } = selected;
    return { target: { name, description }, run: suiteRun, probes: findings, cases };
  });
  const verdicts = computeVerdicts(cases, run.records, options.only);
  const robustness = [...testDenials(run.records), ...probes];
  const stopped = control.stopped;
  const report: ConformanceReport = {
    tool: options.tool,
    target,
    startedAt: run.startedAt.toISOString(),
    durationMs: Math.round(performance.now() - began),
    ...(stopped !== undefined && { stopped }),
    verdicts,
    summary: summarizeVerdicts(verdicts, robustness),
    ...(robustness.length > 0 && { robustness }),
  };
  const written: string[] = [];
  if (options.reportsDir !== undefined) {
    await mkdir(options.reportsDir, { recursive: true });
    const base = join(options.reportsDir, reportBaseName(target.name));
    const { formatJunitReport } = await import('./report/junit.js');
    await writeJsonReport(report, `${base}.json`);
    await writeFile(`${base}.junit.xml`, formatJunitReport(report));
    written.push(`${base}.json`, `${base}.junit.xml`);
  }
  return { report, written };
}
