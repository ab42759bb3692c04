// `viommu drift [HEADER]`: compares a C header (default: the system's linux/virtio_iommu.h)
// with the model. Exit status 0 when every finding is on the allow-list, 1 on drift, 2 when
// the check cannot run (bad usage, unreadable header, a probe that does not compile).

import {
  DEFAULT_ALLOW_LIST,
  readAllowList,
  type Allowance,
} from '../../generator/drift/allow-list.js';
import { DriftError, driftReport, SYSTEM_HEADER } from '../../generator/drift/drift.js';
import { formatDriftJson, formatDriftText } from '../../generator/drift/report.js';
import { join } from 'node:path';
import { packageRoot } from '../../generator/paths.js';
import { allVersions } from '../../generator/versions/resolve.js';
import { hasErrors } from '../../generator/messages.js';
import { reportDiagnostics } from '../diagnostics.js';
import { toolVersion } from '../version.js';
import { loadModel } from './build.js';
import { printable } from '../../conformance/report/printable.js';

export interface DriftCommandOptions {
  spec?: string;
  profile?: string;
  /** A path, or false for --no-allow-list. */
  allowList?: string | false;
  json?: boolean;
  cc?: string;
}

export async function runDrift(
  header: string | undefined,
  options: DriftCommandOptions,
): Promise<number> {
  // A spec that does not build is a tool error here: status 2, after its diagnostics.
  const { model } = loadModel(options);
  if (!model) return 2;
  // The header is also matched with every known version, to name the one it is.
  const known = allVersions(
    options.spec ?? join(packageRoot, 'spec-src'),
    options.spec ? process.cwd() : packageRoot,
    toolVersion,
    model,
  );
  if (hasErrors(known.files)) {
    process.stderr.write(
      `${reportDiagnostics(known.files)}\nviommu drift: a spec version does not resolve\n`,
    );
    return 2;
  }
  // The default allow-list is about the spec itself; a profile already holds the names
  // its consumer keeps, so with --profile only an explicit --allow-list applies.
  let allowList: { label: string; allowances: Allowance[] } | undefined;
  if (options.allowList !== false && (options.allowList !== undefined || !options.profile)) {
    try {
      allowList = {
        label: options.allowList ?? 'generator/drift/allow-list.json',
        allowances: readAllowList(options.allowList ?? DEFAULT_ALLOW_LIST),
      };
    } catch (error) {
      process.stderr.write(`viommu drift: ${(error as Error).message}\n`);
      return 2;
    }
  }
  try {
    const report = await driftReport(model, header ?? SYSTEM_HEADER, {
      ...(options.profile ? { profile: options.profile } : {}),
      ...(allowList ? { allowList } : {}),
      ...(options.cc ? { compiler: options.cc } : {}),
      versions: known.versions,
    });
    // The header's text (values, expressions, its path) is outside input: escape it on the way out.
    process.stdout.write(
      options.json ? formatDriftJson(report) : printable(formatDriftText(report), true),
    );
    return report.drift > 0 ? 1 : 0;
  } catch (error) {
    // Anything that stops the check is status 2, so that 1 always means drift.
    const message =
      error instanceof DriftError ? error.message : `internal error: ${(error as Error).stack}`;
    process.stderr.write(`viommu drift: ${printable(message, true)}\n`);
    return 2;
  }
}
