// One conformance run against one target: the suite, the verdicts, the robustness probes, and
// the reports (JSON validated by the schema, JUnit XML). The HTML matrix is drawn by the CLI.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCases, type Cases } from './cases.js';
import { ConsoleProgress } from './report/console.js';
import { writeJsonReport } from './report/json.js';
import { formatJunitReport } from './report/junit.js';
import type { ConformanceReport } from './report/types.js';
import { runRobustnessProbes } from './robustness/probes.js';
import { runConformanceSuite } from './suite/build-suite.js';
import type { TargetChoice } from './targets/select.js';
import { withTarget } from './targets/with-target.js';
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
  const { target, run, robustness } = await withTarget(options, async (selected) => {
    const progress = options.progress === true ? new ConsoleProgress(selected.name) : undefined;
    const suiteRun = await runConformanceSuite(cases, {
      makeTarget: selected.make,
      ...(options.only !== undefined && { only: options.only }),
      ...(progress && {
        onStart: (total: number) => progress.start(total),
        onTest: (r) => progress.test(r),
      }),
    });
    progress?.stop();
    const findings = options.noProbes === true ? [] : await runRobustnessProbes(selected.make);
    const { name, description } = selected;
    return { target: { name, description }, run: suiteRun, robustness: findings };
  });
  const verdicts = computeVerdicts(cases, run.records, options.only);
  const report: ConformanceReport = {
    tool: options.tool,
    target,
    startedAt: run.startedAt.toISOString(),
    durationMs: run.durationMs,
    verdicts,
    summary: summarize(verdicts),
    ...(robustness.length > 0 && { robustness }),
  };
  const written: string[] = [];
  if (options.reportsDir !== undefined) {
    await mkdir(options.reportsDir, { recursive: true });
    const base = join(options.reportsDir, reportBaseName(target.name));
    await writeJsonReport(report, `${base}.json`);
    await writeFile(`${base}.junit.xml`, formatJunitReport(report));
    written.push(`${base}.json`, `${base}.junit.xml`);
  }
  return { report, written };
}
