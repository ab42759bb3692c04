// `viommu build`: spec-src → dist/spec.json + dist/cases.json, all or nothing.

import { join } from 'node:path';
import { buildModel, readSpecSources, type BuildResult } from '../../generator/build-model.js';
import { modelOutputs } from '../../generator/outputs.js';
import { packageRoot } from '../../generator/paths.js';
import { summarize } from '../../generator/summary.js';
import { reportDiagnostics } from '../diagnostics.js';
import { toolVersion } from '../version.js';
import { writeFilesAtomically } from '../write-files.js';

export interface SpecOptions {
  spec?: string;
  out?: string;
}

/** Builds the model; when it cannot, prints every diagnostic and returns a result without one. */
export function loadModel(options: SpecOptions): BuildResult {
  // Source paths in the model are relative to the package for the bundled spec, else to the
  // folder the command runs in, so that messages read as file:line:col from where you stand.
  const specDir = options.spec ?? join(packageRoot, 'spec-src');
  const result = buildModel(
    readSpecSources(specDir, options.spec ? process.cwd() : packageRoot),
    toolVersion,
  );
  if (!result.model) {
    process.stderr.write(reportDiagnostics(result.diagnostics, result.sources) + '\n');
    process.stderr.write('viommu: nothing was written; fix the errors above and run again.\n');
  }
  return result;
}

export function runBuild(options: SpecOptions): number {
  const { model } = loadModel(options);
  if (!model) return 1;
  writeFilesAtomically(options.out ?? packageRoot, modelOutputs(model));
  process.stdout.write(`${summarize(model)}\n  wrote dist/spec.json, dist/cases.json\n`);
  return 0;
}
