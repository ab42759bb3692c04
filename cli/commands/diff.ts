// `viommu diff A B`: the changes from spec A to spec B (each a version name, a folder of spec
// Markdown or a git revision). Exit 0, or 1 when a statement ID changed meaning, 2 when an
// argument names no spec or a spec does not build.

import { packageRoot } from '../../generator/paths.js';
import { diffModels, formatDiffJson, formatDiffText } from '../../generator/versions/diff.js';
import {
  loadSpec,
  SpecArgumentError,
  type LoadedSpec,
} from '../../generator/versions/load-spec.js';
import { reportDiagnostics } from '../diagnostics.js';
import { toolVersion } from '../version.js';
import { printable } from '../../conformance/report/printable.js';

export function runDiff(
  a: string,
  b: string,
  options: { json?: boolean; drafts?: boolean },
): number {
  const loaded: LoadedSpec[] = [];
  for (const arg of [a, b]) {
    try {
      loaded.push(loadSpec(arg, packageRoot, toolVersion, { drafts: options.drafts === true }));
    } catch (error) {
      if (!(error instanceof SpecArgumentError)) throw error;
      process.stderr.write(`viommu diff: ${error.message}\n`);
      return 2;
    }
  }
  const [from, to] = loaded;
  if (!from.model || !to.model) {
    for (const l of loaded.filter((x) => !x.model)) {
      process.stderr.write(`${reportDiagnostics(l.files)}\n`);
    }
    process.stderr.write('viommu diff: a spec does not build; fix the errors above\n');
    return 2;
  }
  const diff = diffModels(from.model, to.model, from.label, to.label);
  // Statement text and names come from spec files or git revisions: escape them on the way out.
  process.stdout.write(options.json ? formatDiffJson(diff) : printable(formatDiffText(diff), true));
  return diff.errors > 0 ? 1 : 0;
}
