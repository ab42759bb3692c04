// `viommu render`: the spec document (HTML, and PDF when Chromium is installed) with coverage,
// and with `--results`, the conformance matrix beside it. Writes into reports/ by default.

import { performance } from 'node:perf_hooks';
import { join, relative, resolve } from 'node:path';
import { computeCoverage, type Coverage } from '../../conformance/report/coverage.js';
import { renderMatrix } from '../../generator/render/matrix.js';
import { findChromium, printPdf } from '../../generator/render/pdf.js';
import { readReport } from '../../conformance/report/read.js';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { renderSpec } from '../../generator/render/spec-document.js';
import { readTestTags } from '../../conformance/report/test-tags.js';
import { packageRoot } from '../../generator/paths.js';
import { writeFilesAtomically } from '../write-files.js';
import { historySteps, renderChanges } from '../../generator/render/changes.js';
import { allVersions } from '../../generator/versions/resolve.js';
import { hasErrors } from '../../generator/messages.js';
import { reportDiagnostics } from '../diagnostics.js';
import { toolVersion } from '../version.js';
import { loadModel } from './build.js';

export interface RenderOptions {
  spec?: string;
  out?: string;
  results?: string[];
  suite?: string;
  pdf: boolean;
  /** The spec with its drafts, each draft item with a badge (`--drafts`). */
  drafts?: boolean;
}

const SPEC_PAGE = 'spec.html';
const MATRIX_PAGE = 'matrix.html';
const CHANGES_PAGE = 'changes.html';

export async function runRender(options: RenderOptions): Promise<number> {
  const started = performance.now();
  const { model, trees } = loadModel({
    ...(options.spec !== undefined && { spec: options.spec }),
    ...(options.drafts && { drafts: true }),
  });
  if (!model || !trees) return 1;
  const outDir = resolve(options.out ?? join(packageRoot, 'reports'));
  const shown = (path: string): string => relative(process.cwd(), path) || '.';
  const suiteDir = options.suite
    ? resolve(options.suite)
    : join(packageRoot, 'conformance', 'suite');

  let coverage: Coverage;
  const reports: ConformanceReport[] = [];
  try {
    for (const path of options.results ?? []) reports.push(readReport(resolve(path), path));
    const tags = readTestTags(suiteDir, options.suite ? process.cwd() : packageRoot);
    coverage = computeCoverage(model, tags, reports);
  } catch (error) {
    process.stderr.write(
      `viommu render: ${(error as Error).message}\nviommu: nothing was written.\n`,
    );
    return 1;
  }
  for (const warning of coverage.warnings) process.stderr.write(`warning: ${warning}\n`);

  const known = allVersions(
    options.spec ?? join(packageRoot, 'spec-src'),
    options.spec ? process.cwd() : packageRoot,
    toolVersion,
    model,
  );
  if (hasErrors(known.files)) {
    process.stderr.write(`${reportDiagnostics(known.files)}\nviommu: nothing was written.\n`);
    return 1;
  }
  const steps = historySteps(known.versions);
  const changesHref = steps.length ? CHANGES_PAGE : undefined;
  const pages = new Map([
    [
      SPEC_PAGE,
      renderSpec({
        model,
        trees,
        coverage,
        matrixHref: reports.length ? MATRIX_PAGE : undefined,
        changesHref,
      }),
    ],
  ]);
  if (reports.length) pages.set(MATRIX_PAGE, renderMatrix(reports, { model, specHref: SPEC_PAGE }));
  if (changesHref)
    pages.set(changesHref, renderChanges(steps, { title: model.title, specHref: SPEC_PAGE }));
  writeFilesAtomically(outDir, pages);
  const say = (line: string): boolean => process.stdout.write(`  ${line}\n`);
  const { total } = coverage;
  say(
    `wrote ${shown(join(outDir, SPEC_PAGE))}: ${total.statements} statements, ${total.tested} with tests`,
  );
  if (changesHref) {
    say(
      `wrote ${shown(join(outDir, CHANGES_PAGE))}: ${steps.map((d) => `${d.from} → ${d.to}`).join(', ')}`,
    );
  }
  if (reports.length) {
    say(
      `wrote ${shown(join(outDir, MATRIX_PAGE))}: ${reports.map((r) => r.target.name).join(', ')}`,
    );
  }

  const chromium = options.pdf ? findChromium() : undefined;
  if (options.pdf && !chromium)
    say('no spec.pdf: Chromium is not installed (Debian: apt-get install chromium)');
  if (chromium) {
    const pdf = join(outDir, 'spec.pdf');
    try {
      await printPdf(join(outDir, SPEC_PAGE), pdf, chromium);
    } catch (error) {
      process.stderr.write(`viommu render: ${(error as Error).message}\n`);
      return 1;
    }
    say(`wrote ${shown(pdf)}`);
  }
  say(`in ${Math.round(performance.now() - started)} ms`);
  return 0;
}
