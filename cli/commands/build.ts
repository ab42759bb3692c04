// `viommu build`: spec-src → dist/spec.json + dist/cases.json, all or nothing.

import { join, relative } from 'node:path';
import { buildModel, type BuildResult } from '../../generator/build-model.js';
import { modelOutputs } from '../../generator/outputs.js';
import { packageRoot } from '../../generator/paths.js';
import { printable } from '../../generator/printable.js';
import { readSpecSources, RETIRED_IDS_FILE } from '../../generator/spec-sources.js';
import { summarize } from '../../generator/summary.js';
import { readRecordedStatements, vanishedStatements } from '../../generator/vanished.js';
import { reportDiagnostics } from '../diagnostics.js';
import { toolVersion } from '../version.js';
import { writeFilesAtomically } from '../write-files.js';

export interface SpecOptions {
  spec?: string;
  out?: string;
}

/**
 * Builds the model; when it cannot, prints every diagnostic and returns a result without one.
 * With `outDir` (the folder whose dist/ a command writes or compares), the model must also
 * keep every statement of the last one written there, dist/spec.json, unless it retires it.
 */
export function loadModel(options: SpecOptions, outDir?: string): BuildResult {
  // Source paths in the model are relative to the package for the bundled spec, else to the
  // folder the command runs in, so that messages read as file:line:col from where you stand.
  const specDir = options.spec ?? join(packageRoot, 'spec-src');
  const baseDir = options.spec ? process.cwd() : packageRoot;
  const result = buildModel(readSpecSources(specDir, baseDir), toolVersion);
  if (result.model && outDir !== undefined) {
    const recordedPath = join(outDir, 'dist', 'spec.json');
    const recorded = readRecordedStatements(recordedPath, relative(baseDir, recordedPath));
    const lost =
      recorded === undefined
        ? []
        : 'rule' in recorded
          ? [recorded]
          : vanishedStatements(
              recorded,
              result.model,
              result.sources.retiredIds?.path ?? relative(baseDir, join(specDir, RETIRED_IDS_FILE)),
            );
    if (lost.length) {
      delete result.model;
      result.diagnostics.push(...lost);
    }
  }
  if (!result.model) {
    process.stderr.write(reportDiagnostics(result.diagnostics) + '\n');
    process.stderr.write('viommu: nothing was written; fix the errors above and run again.\n');
  }
  return result;
}

export function runBuild(options: SpecOptions): number {
  const out = options.out ?? packageRoot;
  const { model } = loadModel(options, out);
  if (!model) return 1;
  writeFilesAtomically(out, modelOutputs(model));
  process.stdout.write(
    `${printable(summarize(model), true)}\n  wrote dist/spec.json, dist/cases.json\n`,
  );
  return 0;
}
