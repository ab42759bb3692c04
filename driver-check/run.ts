// `viommu driver-check`: for each mode, capture the driver (or read a saved log), judge it,
// print the console report and write the reports: <target>.json (schema-checked),
// <target>.junit.xml, and matrix.html with a column for every report in the folder.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SpecModel } from '../generator/model.js';
import { packageRoot } from '../generator/paths.js';
import { renderMatrix } from '../generator/render/matrix.js';
import { readReport } from '../conformance/report/read.js';
import type { ConformanceReport } from '../dist/ts/schemas/conformance-report.js';
import { loadStatementCatalog } from '../device-ref/iommu/statements.js';
import { captureDriver } from './capture/capture.js';
import { MODES, type Mode } from './guest/init-script.js';
import { judgeEventLog, type Judgement } from './judge/judge.js';
import { debianKernel } from './kernel/debian-package.js';
import { localKernel, type GuestKernel } from './kernel/guest-kernel.js';
import {
  formatEventLog,
  parseEventLog,
  readEventLog,
  type CaptureEvent,
  type LoggedEvent,
} from './log/event-log.js';
import { driverExitCode, driverReport } from './report/driver-report.js';
import { formatDriverJunit } from './report/junit.js';

export const DEFAULT_KERNEL = 'debian-6.12';

export interface DriverCheckOptions {
  /** `debian-6.12` or the path of a bzImage (then `modules` is needed). */
  kernel: string;
  modules?: string;
  mode: Mode | 'all';
  /** Judge this saved log instead of booting a guest. */
  fromLog?: string;
  saveLog?: string;
  qemu: string;
  timeoutMs: number;
  reportsDir: string;
  tool: { name: string; version: string };
  say: (line: string) => void;
}

export interface ModeResult {
  report: ConformanceReport;
  judgement: Judgement;
  bootMs?: number;
  written: string[];
}

export function reportBaseName(target: string): string {
  return target.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** With --mode all, each mode's log gets the mode before the extension: run.jsonl → run.strict.jsonl. */
export function logPathFor(path: string, mode: Mode, all: boolean): string {
  if (!all) return path;
  const dot = path.lastIndexOf('.');
  return dot > path.lastIndexOf('/')
    ? `${path.slice(0, dot)}.${mode}${path.slice(dot)}`
    : `${path}.${mode}`;
}

export function selectKernel(
  options: Pick<DriverCheckOptions, 'kernel' | 'modules' | 'say'>,
): GuestKernel {
  if (options.kernel === DEFAULT_KERNEL) {
    if (options.modules)
      throw new Error('--modules goes with --kernel PATH, not with the Debian kernel');
    return debianKernel(options.say);
  }
  if (!options.modules)
    throw new Error(
      `--kernel ${options.kernel} needs --modules DIR (the folder with virtio-iommu.ko and virtio_blk.ko)`,
    );
  return localKernel(options.kernel, options.modules);
}

/** Judges one log and writes its reports. */
export function judgeLog(
  events: LoggedEvent[],
  options: Pick<DriverCheckOptions, 'reportsDir' | 'tool'>,
  durationMs: number,
): Omit<ModeResult, 'bootMs'> {
  const judgement = judgeEventLog(events, loadStatementCatalog());
  const capture = events[0] as CaptureEvent;
  const report = driverReport({ capture, judgement, durationMs, tool: options.tool });
  mkdirSync(options.reportsDir, { recursive: true });
  const base = join(options.reportsDir, reportBaseName(report.target.name));
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.junit.xml`, formatDriverJunit(report));
  return { report, judgement, written: [`${base}.json`, `${base}.junit.xml`] };
}

/** matrix.html from every report in the folder. */
export function writeMatrix(reportsDir: string): string {
  const reports = readdirSync(reportsDir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => readReport(join(reportsDir, name), join(reportsDir, name)));
  const model = JSON.parse(
    readFileSync(join(packageRoot, 'dist', 'spec.json'), 'utf8'),
  ) as SpecModel;
  const path = join(reportsDir, 'matrix.html');
  writeFileSync(path, renderMatrix(reports, { model }));
  return path;
}

export async function runDriverCheck(options: DriverCheckOptions): Promise<ModeResult[]> {
  const results: ModeResult[] = [];
  if (options.fromLog) {
    const started = performance.now();
    const events = readEventLog(options.fromLog);
    results.push(judgeLog(events, options, performance.now() - started));
  } else {
    const kernel = selectKernel(options);
    const modes = options.mode === 'all' ? MODES : [options.mode];
    for (const mode of modes) {
      options.say(`booting Linux ${kernel.release} in ${mode} mode (${kernel.source})`);
      const started = performance.now();
      const capture = await captureDriver({
        kernel,
        mode,
        qemu: options.qemu,
        timeoutMs: options.timeoutMs,
        tool: `${options.tool.name} ${options.tool.version}`,
      });
      const text = formatEventLog(capture.events);
      const written: string[] = [];
      if (options.saveLog) {
        const path = logPathFor(options.saveLog, mode, options.mode === 'all');
        writeFileSync(path, text);
        written.push(path);
      }
      // The judge reads what was written, so a saved log is judged exactly as this run was.
      const events = parseEventLog(text, `the ${mode} capture`);
      const result = judgeLog(events, options, performance.now() - started);
      results.push({ ...result, bootMs: capture.bootMs, written: [...written, ...result.written] });
    }
  }
  return results;
}

export function exitCodeOf(results: ModeResult[]): number {
  return Math.max(0, ...results.map((r) => driverExitCode(r.report)));
}
