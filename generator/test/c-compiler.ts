// Runs the system C and C++ compilers for the tests, with the flags the issue asks for; names
// the cross compiler and the missing compiler the drift tests use.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram } from '../drift/run-limited.js';

export const STRICT = ['-Wall', '-Wextra', '-Werror', '-pedantic'];

export interface Compiled {
  status: number | null;
  stderr: string;
}

export function compile(compiler: 'gcc' | 'g++', args: string[]): Compiled {
  const r = spawnSync(compiler, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stderr: r.stderr };
}

/** Builds `source` (C) with gcc and returns what the program prints. */
export function runC(source: string, includeDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-test-'));
  try {
    const file = join(dir, 'main.c');
    const exe = join(dir, 'main');
    writeFileSync(file, source);
    const built = compile('gcc', ['-std=gnu11', ...STRICT, '-I', includeDir, '-o', exe, file]);
    if (built.status !== 0) throw new Error(`gcc failed:\n${built.stderr}`);
    const run = spawnSync(exe, [], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`program failed: ${run.stderr}`);
    return run.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const NO_COMPILER = '/nonexistent/viommu-test-cc';
/** A cross compiler from Debian (gcc-aarch64-linux-gnu, linux-libc-dev-arm64-cross); CI installs it. */
export const CROSS = 'aarch64-linux-gnu-gcc';

/** Skips the test, saying why, when the cross compiler is absent; in CI (CI=true) it must be there. */
export function needCrossCompiler(test: Mocha.Context): void {
  if (findProgram(CROSS)) return;
  assert.notEqual(process.env.CI, 'true', `${CROSS} is missing; .ci/run installs it`);
  test.test!.title += ` (skipped: ${CROSS} is not installed; apt-get install gcc-aarch64-linux-gnu linux-libc-dev-arm64-cross)`;
  test.skip();
}
