// `viommu conform --target ref|qemu|unix:PATH|tcp:HOST:PORT`: runs the conformance suite
// against one device, prints the verdict table, and writes the reports: <target>.json (schema
// checked), <target>.junit.xml, and matrix.html (rows from dist/spec.json) with a column for
// every target reported in the same folder. Exit 1 when the device fails: a failed MUST, a
// robustness finding (a crash, hang or isolation breach guest input caused) or, with --strict,
// a failed SHOULD; else 2 when the run cannot start, stops early (--time-limit, a target that
// never answers) or matrix.html cannot be written.

import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Cases } from '../../generator/build-model.js';
import type { SpecModel } from '../../generator/model.js';
import { packageRoot } from '../../generator/paths.js';
import { formatConsoleReport } from '../../conformance/report/console.js';
import { printable } from '../../conformance/report/printable.js';
import { checkReportSchema } from '../../conformance/report/json.js';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { reportBaseName, runConformance, type ConformanceResult } from '../../conformance/run.js';
import type { JudgeWindow } from '../../conformance/targets/target.js';
import { exitCode } from '../../conformance/verdicts.js';
import { toolVersion } from '../version.js';

export interface ConformOptions {
  target: string;
  qemu?: string;
  qemuArg?: string[];
  board?: string;
  judgeWindow?: string;
  strict?: boolean;
  reports?: string;
  only?: string;
  probes?: boolean;
  /** `--time-limit`: 90, 90s, 10m, 1h. */
  timeLimit?: string;
  /** `--test-timeout`: the same forms. */
  testTimeout?: string;
  /** Judge the drafts' device statements too, where the device offers their feature. */
  drafts?: boolean;
}

/** `90`, `90s`, `1500ms`, `10m`, `1h` → milliseconds; a clear error otherwise. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match?.[2] ?? 's'];
  const ms = match === null ? NaN : Number(match[1]) * unit!;
  if (!Number.isFinite(ms) || ms <= 0)
    throw new Error(`${option} '${text}': expected a duration such as 90, 90s, 10m or 1h`);
  return Math.round(ms);
}

export interface ConformOutcome {
  code: number;
  written: string[];
}

export const MATRIX_PAGE = 'matrix.html';

function judgeWindow(value: string): JudgeWindow {
  if (value === 'all-ram' || value === 'near') return value;
  throw new Error(`--judge-window ${value}: say all-ram or near`);
}

export async function conform(options: ConformOptions): Promise<ConformOutcome> {
  const reportsDir = resolve(options.reports ?? join(packageRoot, 'reports'));
  // Without --drafts the suite reads dist/cases.json, which never holds a draft.
  let cases: Cases | undefined;
  let draftsModel: SpecModel | undefined;
  if (options.drafts) {
    // Only --drafts parses the spec: the Markdown toolchain is not loaded otherwise.
    const [{ loadModel }, { casesOf }] = await Promise.all([
      import('./build.js'),
      import('../../generator/build-model.js'),
    ]);
    draftsModel = loadModel({ drafts: true }).model;
    if (!draftsModel) return { code: 2, written: [] };
    cases = casesOf(draftsModel);
  }
  let result: ConformanceResult;
  try {
    const timeLimitMs =
      options.timeLimit === undefined
        ? undefined
        : parseDuration(options.timeLimit, '--time-limit');
    const testTimeoutMs =
      options.testTimeout === undefined
        ? undefined
        : parseDuration(options.testTimeout, '--test-timeout');
    result = await runConformance({
      ...(timeLimitMs !== undefined && { timeLimitMs }),
      ...(testTimeoutMs !== undefined && { testTimeoutMs }),
      target: options.target,
      ...(options.qemu !== undefined && { qemu: options.qemu }),
      ...(options.qemuArg !== undefined && { qemuArgs: options.qemuArg }),
      ...(options.board !== undefined && { board: options.board }),
      ...(options.judgeWindow !== undefined && { judgeWindow: judgeWindow(options.judgeWindow) }),
      ...(options.only !== undefined && { only: options.only }),
      noProbes: options.probes === false,
      ...(cases && { cases }),
      reportsDir,
      progress: true,
      tool: { name: 'viommu conform', version: toolVersion },
    });
  } catch (error) {
    process.stderr.write(`viommu conform: ${printable((error as Error).message, true)}\n`);
    return { code: 2, written: [] };
  }
  process.stdout.write(formatConsoleReport(result.report));
  const stopped = result.report.stopped !== undefined;
  const code = exitCode(result.report.summary, options.strict === true, stopped);
  try {
    const matrix = await writeMatrix(
      reportsDir,
      reportBaseName(result.report.target.name),
      draftsModel,
    );
    return { code, written: [...result.written, matrix] };
  } catch (error) {
    process.stderr.write(
      `viommu conform: no ${MATRIX_PAGE}: ${printable((error as Error).message, true)}\n`,
    );
    return { code: Math.max(code, 2), written: result.written };
  }
}

/** matrix.html from every <target>.json in the folder, this run's first. */
async function writeMatrix(
  reportsDir: string,
  first: string,
  drafts: SpecModel | undefined,
): Promise<string> {
  const names = readdirSync(reportsDir)
    .filter((name) => name.endsWith('.json'))
    .sort(
      (a, b) => Number(b === `${first}.json`) - Number(a === `${first}.json`) || a.localeCompare(b),
    );
  const reports = names.map((name): ConformanceReport => {
    try {
      const data: unknown = JSON.parse(readFileSync(join(reportsDir, name), 'utf8'));
      checkReportSchema(data);
      return data;
    } catch (error) {
      throw new Error(
        `${join(reportsDir, name)} is not a conformance report (${(error as Error).message}); ` +
          'move it out of the folder or choose another one with --reports',
        { cause: error },
      );
    }
  });
  // Rows from the spec the run judged: with --drafts, the model with its drafts.
  const model =
    drafts ??
    (JSON.parse(readFileSync(join(packageRoot, 'dist', 'spec.json'), 'utf8')) as SpecModel);
  const path = join(reportsDir, MATRIX_PAGE);
  const { renderMatrix } = await import('../../generator/render/matrix.js');
  await writeFile(path, renderMatrix(reports, { model }));
  return path;
}

export async function runConform(options: ConformOptions): Promise<number> {
  const { code, written } = await conform(options);
  for (const path of written)
    process.stdout.write(`  wrote ${relative(process.cwd(), path) || path}\n`);
  return code;
}
