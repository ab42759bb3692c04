// `viommu build`: spec-src → dist/spec.json + dist/cases.json, all or nothing.

import { join, relative } from 'node:path';
import { VFile } from 'vfile';
import { buildModel, type BuildResult } from '../../generator/build-model.js';
import { CURRENT, resolveVersion } from '../../generator/versions/resolve.js';
import { DRAFTS_DIST, inDraftsDist, modelOutputs } from '../../generator/outputs.js';
import { packageRoot } from '../../generator/paths.js';
import { printable } from '../../conformance/report/printable.js';
import { readSpecSources, RETIRED_IDS_FILE } from '../../generator/spec-sources.js';
import { summarize } from '../../generator/summary.js';
import { readRecordedStatements, vanishedStatements } from '../../generator/vanished.js';
import { reportDiagnostics } from '../diagnostics.js';
import { toolVersion } from '../version.js';
import { writeFilesAtomically } from '../write-files.js';

export interface SpecOptions {
  spec?: string;
  out?: string;
  /** A historic version of spec-src/versions/, or `current` (the default). */
  version?: string;
  /** The spec with its drafts (`--drafts`): written under dist/drafts/, never over dist/. */
  drafts?: boolean;
}

/** `--drafts` with `--version`: drafts extend the current spec only. A message, or undefined. */
export function draftsMisuse(command: string, options: SpecOptions): string | undefined {
  return options.drafts && isHistoric(options)
    ? `viommu ${command}: --drafts extends the current spec; it does not go with --version ${options.version}\n`
    : undefined;
}

/** A historic version (not `current`) is asked for: its outputs never go over the package's dist/. */
export function isHistoric(options: SpecOptions): boolean {
  return options.version !== undefined && options.version !== CURRENT;
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
  const current = buildModel(readSpecSources(specDir, baseDir), toolVersion, {
    drafts: options.drafts === true && !isHistoric(options),
  });
  if (isHistoric(options)) {
    // A historic version takes the device ID from the current spec: it is the same device.
    // Its statements, if it states any, are derived from the current spec's, whose IDs the
    // check below guards; they are not checked against what was written before.
    if (!current.model) return reportFailure(current);
    const v = resolveVersion(specDir, options.version!, baseDir, toolVersion, current.model);
    const result: BuildResult = { ...v, sources: { files: v.files, problems: [] } };
    return result.model ? result : reportFailure(result);
  }
  const result = current;
  if (result.model && outDir !== undefined) {
    const recordedPath = join(outDir, options.drafts ? DRAFTS_DIST : 'dist', 'spec.json');
    const recorded = readRecordedStatements(recordedPath, relative(baseDir, recordedPath));
    const lost =
      recorded === undefined
        ? []
        : recorded instanceof VFile
          ? [recorded]
          : vanishedStatements(
              recorded,
              result.model,
              result.sources.retiredIds?.path ?? relative(baseDir, join(specDir, RETIRED_IDS_FILE)),
            );
    if (lost.length) {
      delete result.model;
      result.files.push(...lost);
    }
  }
  return result.model ? result : reportFailure(result);
}

function reportFailure(result: BuildResult): BuildResult {
  process.stderr.write(reportDiagnostics(result.files) + '\n');
  process.stderr.write('viommu: nothing was written; fix the errors above and run again.\n');
  return result;
}

export function runBuild(options: SpecOptions): number {
  const misuse = draftsMisuse('build', options);
  if (misuse) {
    process.stderr.write(misuse);
    return 2;
  }
  const out = options.out ?? packageRoot;
  const { model } = loadModel(options, out);
  if (!model) return 1;
  if (isHistoric(options) && !options.out) {
    process.stdout.write(
      `${printable(summarize(model), true)}\n  built; nothing written (name a folder with --out)\n`,
    );
    return 0;
  }
  // dist/drafts/ exists only while the spec has drafts: `check` expects it then, and only then.
  if (options.drafts && !model.drafts?.length) {
    process.stdout.write(
      'The spec has no drafts (no file with a `Status: draft` line); nothing written\n',
    );
    return 0;
  }
  const files = options.drafts ? inDraftsDist(modelOutputs(model)) : modelOutputs(model);
  writeFilesAtomically(out, files);
  process.stdout.write(
    `${printable(summarize(model), true)}\n  wrote ${[...files.keys()].join(', ')}\n`,
  );
  return 0;
}
