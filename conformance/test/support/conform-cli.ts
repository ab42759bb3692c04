// Test fixture: runs `viommu conform` as a child process (the suite builds its own mocha
// suites, so it runs apart from the mocha that runs these tests) and reads its JSON report.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../package-root.js';
import { reportBaseName } from '../../run.js';
import type { ConformanceReport } from '../../../dist/ts/schemas/conformance-report.js';

export const CLI = join(packageRoot, 'build', 'cli', 'viommu.js');

export interface ConformRun {
  code: number;
  report: ConformanceReport;
  stdout: string;
}

export async function runConformCli(target: string, extra: string[] = []): Promise<ConformRun> {
  const dir = await mkdtemp(join(tmpdir(), 'viommu-conform-'));
  try {
    let code = 0;
    let stdout = '';
    try {
      stdout = (
        await promisify(execFile)(
          process.execPath,
          [CLI, 'conform', '--target', target, '--reports', dir, ...extra],
          { maxBuffer: 64 << 20 },
        )
      ).stdout;
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      if (typeof failed.code !== 'number' || failed.code === 2) {
        throw new Error(
          `viommu conform --target ${target} could not run: ${failed.stderr ?? String(error)}`,
        );
      }
      code = failed.code;
      stdout = failed.stdout ?? '';
    }
    const report = JSON.parse(
      await readFile(join(dir, `${reportBaseName(target)}.json`), 'utf8'),
    ) as ConformanceReport;
    return { code, report, stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
