// Prints the errors of a spec the unified way: the files that carry them, through
// vfile-reporter. File names and messages come from the spec (names, headings, file names), so
// each file is shown through printable(): the reporter adds its own colours after that.

import { reporter } from 'vfile-reporter';
import { VFile } from 'vfile';
import { printable } from '../conformance/report/printable.js';

/** A copy of `file` to show: its path and its messages' reasons with control characters escaped. */
function printableFile(file: VFile): VFile {
  const shown = new VFile({ path: printable(file.path) });
  for (const m of file.messages) {
    const copy = shown.message(printable(m.reason), {
      ...(m.place && { place: m.place }),
      ...(m.ruleId && { ruleId: m.ruleId }),
      ...(m.source && { source: m.source }),
    });
    copy.fatal = m.fatal;
  }
  return shown;
}

export function reportDiagnostics(files: readonly VFile[]): string {
  return reporter(files.filter((f) => f.messages.length > 0).map(printableFile), { quiet: true });
}
