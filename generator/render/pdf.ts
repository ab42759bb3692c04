// The PDF of the spec document, printed by headless Chromium (Debian's `chromium` package) when
// it is installed.

import { spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Flags for a browser that must not reach the network or keep state between runs. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const PRINT_TIMEOUT_MS = 120_000;

/** The `chromium` executable on PATH, if any. */
export function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'chromium');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Prints `htmlPath` to `pdfPath`; the PDF appears whole or not at all. */
export async function printPdf(htmlPath: string, pdfPath: string, chromium: string): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), 'viommu-chromium-'));
  const temp = `${pdfPath}.${process.pid}.tmp`;
  try {
    const args = [
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${profile}`,
      '--no-pdf-header-footer',
      `--print-to-pdf=${temp}`,
      pathToFileURL(htmlPath).href,
    ];
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(chromium, args, {
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: PRINT_TIMEOUT_MS,
        });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stderr }));
      },
    );
    if (code !== 0 || !existsSync(temp) || statSync(temp).size === 0) {
      const tail = stderr.trim().split('\n').slice(-5).join('\n  ');
      throw new Error(`Chromium could not print the PDF (exit ${code ?? 'by signal'}):\n  ${tail}`);
    }
    renameSync(temp, pdfPath);
  } finally {
    rmSync(temp, { force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}
