// `viommu driver-check`: boots a Linux guest under QEMU, captures every request its
// virtio-iommu driver builds, replays them through device-ref's IOMMU core and gives each
// driver statement a verdict. Exit 1 when the driver fails a MUST or sends a request no device
// can serve, 2 when the run cannot be made (no kernel, QEMU failed, a broken log).

import { relative, resolve, join } from 'node:path';
import { packageRoot } from '../../generator/paths.js';
import { formatDriverConsole } from '../../driver-check/report/console.js';
import {
  exitCodeOf,
  runDriverCheck,
  selectKernel,
  writeMatrix,
  type ModeResult,
} from '../../driver-check/run.js';
import { MODES, type Mode } from '../../driver-check/guest/init-script.js';
import { toolVersion } from '../version.js';

export interface DriverCheckCliOptions {
  kernel: string;
  modules?: string;
  mode: string;
  fromLog?: string;
  saveLog?: string;
  qemu: string;
  timeout: string;
  reports?: string;
  fetch?: boolean;
}

export async function runDriverCheckCommand(opts: DriverCheckCliOptions): Promise<number> {
  const fail = (message: string): number => {
    process.stderr.write(`viommu driver-check: ${message}\n`);
    return 2;
  };
  if (opts.mode !== 'all' && !MODES.includes(opts.mode as Mode))
    return fail(`--mode ${opts.mode}: choose strict, lazy, passthrough or all`);
  const timeoutSeconds = Number(opts.timeout);
  if (!(timeoutSeconds > 0))
    return fail(`--timeout ${opts.timeout}: a number of seconds is needed`);
  if (opts.fetch) {
    try {
      const kernel = selectKernel({ ...opts, say: (line) => process.stderr.write(`${line}\n`) });
      process.stdout.write(`Linux ${kernel.release} (${kernel.source}): ${kernel.image}\n`);
      return 0;
    } catch (error) {
      return fail((error as Error).message);
    }
  }
  const reportsDir = resolve(opts.reports ?? join(packageRoot, 'reports'));
  const shown = (path: string): string => relative(process.cwd(), path) || path;
  let results: ModeResult[];
  try {
    results = await runDriverCheck({
      kernel: opts.kernel,
      ...(opts.modules !== undefined && { modules: opts.modules }),
      mode: opts.mode as Mode | 'all',
      ...(opts.fromLog !== undefined && { fromLog: opts.fromLog }),
      ...(opts.saveLog !== undefined && { saveLog: opts.saveLog }),
      qemu: opts.qemu,
      timeoutMs: timeoutSeconds * 1000,
      reportsDir,
      tool: { name: 'viommu driver-check', version: toolVersion },
      say: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    return fail((error as Error).message);
  }
  for (const r of results)
    process.stdout.write(`${formatDriverConsole(r.report, r.judgement.requests.byType)}\n`);
  if (results.length > 1 || results[0]?.bootMs !== undefined) {
    for (const r of results) {
      const boot = r.bootMs === undefined ? '' : `boot ${(r.bootMs / 1000).toFixed(1)} s, `;
      process.stdout.write(
        `${r.report.target.name}: ${boot}${r.judgement.requests.total} requests, ${r.report.summary.pass} pass, ${r.report.summary.fail} fail, ${r.report.summary.notApplicable} not applicable, ${r.report.summary.untested} untested\n`,
      );
    }
  }
  const written = results.flatMap((r) => r.written);
  try {
    written.push(writeMatrix(reportsDir));
  } catch (error) {
    process.stderr.write(`viommu driver-check: no matrix.html: ${(error as Error).message}\n`);
  }
  for (const path of written) process.stdout.write(`  wrote ${shown(path)}\n`);
  return exitCodeOf(results);
}
