// `viommu check`: regenerates dist/ in memory and fails, naming each file, when what is on
// disk differs from what spec-src gives. CI runs it so that dist/ never goes stale.

import { distOutputs, draftOutputs } from '../../generator/outputs.js';
import { schemaOutputs } from '../../generator/schema-outputs.js';
import { packageRoot } from '../../generator/paths.js';
import { printable } from '../../conformance/report/printable.js';
import { staleFiles } from '../../generator/stale-files.js';
import { isHistoric, loadModel, type SpecOptions } from './build.js';

export async function runCheck(options: SpecOptions): Promise<number> {
  if (isHistoric(options) && !options.out) {
    process.stderr.write(
      `viommu check: --version ${options.version} needs --out DIR: dist/ holds the current spec only\n`,
    );
    return 2;
  }
  const { model } = loadModel(options, options.out ?? packageRoot);
  if (!model) return 1;
  const expected = new Map([...distOutputs(model), ...(await schemaOutputs())]);
  // The spec with its drafts lives in dist/drafts/ when the spec has any: kept fresh too.
  if (!isHistoric(options)) {
    const withDrafts = loadModel({ ...options, drafts: true }, options.out ?? packageRoot).model;
    if (!withDrafts) return 1;
    if (withDrafts.drafts?.length)
      for (const [p, t] of draftOutputs(withDrafts)) expected.set(p, t);
  }
  const problems = staleFiles(options.out ?? packageRoot, expected);
  if (problems.length) {
    process.stderr.write(
      `${problems.map((p) => `viommu check: ${printable(p)}`).join('\n')}\nviommu check: dist/ is stale; run \`npm run gen\` and commit dist/.\n`,
    );
    return 1;
  }
  process.stdout.write(`dist/ is up to date (${expected.size} files)\n`);
  return 0;
}
