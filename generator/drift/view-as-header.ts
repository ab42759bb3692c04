// A model's C view seen as if it were a parsed and measured header. With it, drift's
// comparison (compare.ts) also compares two versions of the spec with each other: the
// older one is "the spec", the newer one "the header", and every finding keeps its type.

import { viewDefines, viewStructs, type CView } from '../emit/c-view.js';
import type { HeaderPlace, ParsedHeader } from './parse-header.js';
import type { Measurements } from './probe.js';

export function viewAsHeader(
  view: CView,
  label: string,
): { header: ParsedHeader; measurements: Measurements } {
  const place = (s: { file: string; line: number } | undefined): HeaderPlace =>
    s ? { file: s.file, line: s.line } : { file: label, line: 1 };
  const structs = viewStructs(view);
  const defines = viewDefines(view);
  return {
    header: {
      file: label,
      defines: defines.map((d) => ({
        name: d.name,
        body: d.expression,
        functionLike: false,
        place: place(d.source),
      })),
      structs: structs.map((s) => ({
        name: s.name,
        place: place(s.source),
        fields: s.fields.map((f) => ({
          name: f.name,
          type: f.type,
          ...(f.flexible ? { count: '' } : f.count !== undefined ? { count: String(f.count) } : {}),
          place: place(f.source),
        })),
      })),
    },
    measurements: {
      structs: new Map(
        structs.map((s) => [
          s.name,
          {
            size: s.size,
            fields: new Map(
              s.fields.map((f) => [
                f.name,
                { offset: f.offset, ...(f.flexible ? {} : { size: f.size }) },
              ]),
            ),
          },
        ]),
      ),
      values: new Map(defines.map((d) => [d.name, BigInt(d.value)])),
    },
  };
}
