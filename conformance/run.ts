// One conformance run against one target: the suite, the verdicts, the robustness probes, and
// the reports (JSON validated by the schema, JUnit XML). The HTML matrix is drawn by the CLI.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCases, type Cases } from './cases.js';
import { ConsoleProgress } from './report/console.js';
import { writeJsonReport } from './report/json.js';
import { formatJunitReport } from './report/junit.js';
import type { ConformanceReport, RobustnessFinding } from './report/types.js';
import { runRobustnessProbes } from './robustness/probes.js';
import { runConformanceSuite, type SuiteRun } from './suite/build-suite.js';
import { selectTarget, type TargetChoice } from './targets/select.js';
import { computeVerdicts, summarize } from './verdicts.js';

export interface ConformanceOptions extends TargetChoice {
  only?: string;
  /** Folder for <target>.json and <target>.junit.xml; none written when absent. */
  reportsDir?: string;
  /** Show a progress bar on stderr. */
  progress?: boolean;
  /** Skip the robustness probes. */
  noProbes?: boolean;
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

export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult> {
  const cases = options.cases ?? loadCases();
  const selected = selectTarget(options);
  const progress = options.progress === true ? new ConsoleProgress(selected.name) : undefined;
  let run: SuiteRun;
  let robustness: RobustnessFinding[];
  try {
    run = await runConformanceSuite(cases, {
      makeTarget: selected.make,
      ...(options.only !== undefined && { only: options.only }),
      ...(progress && {
        onStart: (total: number) => progress.start(total),
        onTest: (r) => progress.test(r),
      }),
    });
    progress?.stop();
    robustness = options.noProbes === true ? [] : await runRobustnessProbes(selected.make);
  } finally {
    await selected.close();
  }
  const verdicts = computeVerdicts(cases, run.records, options.only);
  const report: ConformanceReport = {
    tool: options.tool,
    target: { name: selected.name, description: selected.description },
    startedAt: run.startedAt.toISOString(),
    durationMs: run.durationMs,
    verdicts,
    summary: summarize(verdicts),
    ...(robustness.length > 0 && { robustness }),
  };
  const written: string[] = [];
  if (options.reportsDir !== undefined) {
    await mkdir(options.reportsDir, { recursive: true });
    const base = join(options.reportsDir, reportBaseName(selected.name));
    await writeJsonReport(report, `${base}.json`);
    await writeFile(`${base}.junit.xml`, formatJunitReport(report));
    written.push(`${base}.json`, `${base}.junit.xml`);
  }
  return { report, written };
}
