// Finds the model a `viommu diff` argument stands for: `current`, a historic version of
// spec-src/versions/, a folder of spec Markdown, or a git revision of this repository
// (its spec-src/, read with `git archive` into a temporary folder).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VFile } from 'vfile';
import { buildModel, type BuildOptions } from '../build-model.js';
import { readSpecSources } from '../spec-sources.js';
import type { SpecModel } from '../model.js';
import { CURRENT, listVersions, resolveVersion } from './resolve.js';

export interface LoadedSpec {
  /** What the argument turned out to be, for the report: `v0.4`, `current`, `git HEAD~3`. */
  label: string;
  model?: SpecModel;
  /** The files read; when there is no model, their messages say why. */
  files: VFile[];
}

export class SpecArgumentError extends Error {}

function build(
  specDir: string,
  baseDir: string,
  label: string,
  modelVersion: string,
  options: BuildOptions,
): LoadedSpec {
  const r = buildModel(readSpecSources(specDir, baseDir), modelVersion, options);
  return {
    label,
    ...(r.model ? { model: r.model } : {}),
    files: r.files,
  };
}

/** The model `arg` names; `packageRoot` holds the bundled spec-src/ and the git repository. */
export function loadSpec(
  arg: string,
  packageRoot: string,
  modelVersion: string,
  options: BuildOptions = {},
): LoadedSpec {
  const specDir = join(packageRoot, 'spec-src');
  if (arg === CURRENT) return build(specDir, packageRoot, CURRENT, modelVersion, options);
  if (listVersions(specDir).includes(arg)) {
    // A historic version has no drafts: they extend the current spec.
    const current = build(specDir, packageRoot, CURRENT, modelVersion, {});
    if (!current.model) return current;
    const r = resolveVersion(specDir, arg, packageRoot, modelVersion, current.model);
    return { label: arg, ...r };
  }
  if (existsSync(arg) && statSync(arg).isDirectory())
    return build(arg, process.cwd(), arg, modelVersion, options);
  let commit: string;
  try {
    commit = execFileSync(
      'git',
      ['-C', packageRoot, 'rev-parse', '--verify', '--quiet', `${arg}^{commit}`],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).trim();
  } catch {
    const names = [CURRENT, ...listVersions(specDir)].join(', ');
    throw new SpecArgumentError(
      `\`${arg}\` is not a version (${names}), a folder or a git revision`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'viommu-diff-'));
  try {
    const archive = execFileSync(
      'git',
      ['-C', packageRoot, 'archive', '--format=tar', commit, 'spec-src'],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    return build(join(dir, 'spec-src'), dir, `git ${arg}`, modelVersion, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
