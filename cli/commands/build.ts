// `viommu build`: spec-src → dist/spec.json + dist/cases.json, all or nothing.

import { join } from 'node:path';
import { buildModel, readSpecSources, type BuildResult } from '../../generator/build-model.js';
import { CURRENT, resolveVersion } from '../../generator/versions/resolve.js';
import { modelOutputs } from '../../generator/outputs.js';
import { packageRoot } from '../../generator/paths.js';
import { summarize } from '../../generator/summary.js';
import { reportDiagnostics } from '../diagnostics.js';
import { toolVersion } from '../version.js';
import { writeFilesAtomically } from '../write-files.js';

export interface SpecOptions {
  spec?: string;
  out?: string;
  /** A historic version of spec-src/versions/, or `current` (the default). */
  version?: string;
}

/** A historic version (not `current`) is asked for: its outputs never go over the package's dist/. */
export function isHistoric(options: SpecOptions): boolean {
  return options.version !== undefined && options.version !== CURRENT;
}

/** Builds the model; when it cannot, prints every diagnostic and returns a result without one. */
export function loadModel(options: SpecOptions): BuildResult {
  // Source paths in the model are relative to the package for the bundled spec, else to the
  // folder the command runs in, so that messages read as file:line:col from where you stand.
  const specDir = options.spec ?? join(packageRoot, 'spec-src');
  const baseDir = options.spec ? process.cwd() : packageRoot;
  const current = buildModel(readSpecSources(specDir, baseDir), toolVersion);
  let result = current;
  if (isHistoric(options) && current.model) {
    // A historic version takes the device ID from the current spec: it is the same device.
    const v = resolveVersion(
      specDir,
      options.version!,
      baseDir,
      toolVersion,
      current.model.deviceId,
    );
    result = { ...v, sources: { files: v.files } };
  }
  if (!result.model) {
    process.stderr.write(reportDiagnostics(result.diagnostics, result.sources) + '\n');
    process.stderr.write('viommu: nothing was written; fix the errors above and run again.\n');
  }
  return result;
}

export function runBuild(options: SpecOptions): number {
  const { model } = loadModel(options);
  if (!model) return 1;
  if (isHistoric(options) && !options.out) {
    process.stdout.write(
      `${summarize(model)}\n  built; nothing written (name a folder with --out)\n`,
    );
    return 0;
  }
  writeFilesAtomically(options.out ?? packageRoot, modelOutputs(model));
  process.stdout.write(`${summarize(model)}\n  wrote dist/spec.json, dist/cases.json\n`);
  return 0;
}
