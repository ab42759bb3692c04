// Prints spec-src diagnostics the unified way: vfile messages through vfile-reporter.

import { reporter } from 'vfile-reporter';
import { VFile } from 'vfile';
import type { Diagnostic } from '../generator/parse/collect.js';
import type { SpecSources } from '../generator/build-model.js';

export function reportDiagnostics(diagnostics: Diagnostic[], sources: SpecSources): string {
  const byPath = new Map<string, VFile>();
  for (const f of [...sources.files, ...(sources.retiredIds ? [sources.retiredIds] : [])])
    byPath.set(f.path, f);
  const touched = new Set<VFile>();
  const sorted = [...diagnostics].sort(
    (a, b) =>
      a.source.file.localeCompare(b.source.file) ||
      a.source.line - b.source.line ||
      a.source.column - b.source.column,
  );
  for (const d of sorted) {
    let file = byPath.get(d.source.file);
    if (!file) {
      file = new VFile({ path: d.source.file });
      byPath.set(d.source.file, file);
    }
    const message = file.message(d.message, {
      place: { line: d.source.line, column: d.source.column },
      ruleId: d.rule,
      source: 'viommu',
    });
    message.fatal = true;
    touched.add(file);
  }
  return reporter([...touched], { quiet: true });
}
