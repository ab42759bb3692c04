// Prints spec-src diagnostics the unified way: vfile messages through vfile-reporter. File
// names and messages come from the spec (names, headings, file names), so they pass through
// printable() on the way: the reporter adds its own colours after that.

import { reporter } from 'vfile-reporter';
import { VFile } from 'vfile';
import type { Diagnostic } from '../generator/parse/collect.js';
import { printable } from '../conformance/report/printable.js';

export function reportDiagnostics(diagnostics: Diagnostic[]): string {
  const byPath = new Map<string, VFile>();
  const sorted = [...diagnostics].sort(
    (a, b) =>
      a.source.file.localeCompare(b.source.file) ||
      a.source.line - b.source.line ||
      a.source.column - b.source.column,
  );
  for (const d of sorted) {
    let file = byPath.get(d.source.file);
    if (!file) {
      file = new VFile({ path: printable(d.source.file) });
      byPath.set(d.source.file, file);
    }
    const message = file.message(printable(d.message), {
      ...(!d.whole && { place: { line: d.source.line, column: d.source.column } }),
      ruleId: d.rule,
      source: 'viommu',
    });
    message.fatal = true;
  }
  return reporter([...byPath.values()], { quiet: true });
}
