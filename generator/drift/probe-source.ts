// The C source of the ABI probe: the header, then one constant array that holds, as data,
// the sizeof of every struct the header declares, the offsetof and sizeof of every field,
// and for every object-like macro whether its value is an integer, whether it is negative,
// and the value. The compiler works them all out at compile time; nothing is ever run. One
// line per struct, field or macro, so that an error names the line and so the item.

import type { ParsedHeader } from './parse-header.js';

/** The array's name; the header cannot take it over because the probe #undefs it. */
export const PROBE_SYMBOL = 'viommu_abi_probe';

export type ProbeItem =
  | { kind: 'struct'; struct: string }
  | { kind: 'field'; struct: string; field: string; flexible: boolean }
  | { kind: 'macro'; name: string };

export interface ProbeLine {
  /** Line in the probe source. */
  line: number;
  item: ProbeItem;
  /** Where its values start in the array. */
  index: number;
  count: number;
}

export interface ProbeSource {
  text: string;
  lines: ProbeLine[];
  /** Entries in the array, the first being that count itself. */
  entries: number;
}

const IDENT = /^[A-Za-z_]\w*$/;

/** An unbalanced bracket in a macro would break the lines after its own, so it is left out. */
export function balanced(body: string): boolean {
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const text = body.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '');
  if (/["']/.test(text)) return false;
  for (const c of text) {
    if (c === '(' || c === '[' || c === '{') open.push(c);
    else if (c in pairs && open.pop() !== pairs[c]) return false;
  }
  return open.length === 0;
}

/** The object-like macros whose values the probe can try to measure. */
export function measurableMacros(header: ParsedHeader): string[] {
  return header.defines
    .filter((d) => !d.functionLike && d.body !== '' && IDENT.test(d.name) && balanced(d.body))
    .map((d) => d.name);
}

// `__builtin_choose_expr` (gcc, clang) accepts only an integer constant expression, where a
// plain initializer would also take an address or a floating value; _Generic tells integer
// types from pointers.
const PRELUDE = [
  '#undef VIOMMU_INTEGER',
  '#undef VIOMMU_VALUE',
  `#undef ${PROBE_SYMBOL}`,
  '#define VIOMMU_INTEGER(x) _Generic((x), _Bool: 1, char: 1, signed char: 1, unsigned char: 1, \\',
  '\tshort: 1, unsigned short: 1, int: 1, unsigned int: 1, long: 1, unsigned long: 1, \\',
  '\tlong long: 1, unsigned long long: 1, default: 0)',
  '#define VIOMMU_VALUE(x) VIOMMU_INTEGER(x), (x) < 0, \\',
  '\t__builtin_choose_expr((x) || 1, (unsigned long long)(x), 0)',
];

export function probeSource(
  header: ParsedHeader,
  include: string,
  macros: string[] = measurableMacros(header),
): ProbeSource {
  const text = ['#include <stddef.h>', `#include "${include}"`, ...PRELUDE];
  const lines: ProbeLine[] = [];
  let index = 1;
  const add = (item: ProbeItem, count: number, values: string) => {
    text.push(`\t${values},`);
    lines.push({ line: text.length, item, index, count });
    index += count;
  };
  text.push(`const unsigned long long ${PROBE_SYMBOL}[] = {`, '');
  const countLine = text.length - 1; // the number of entries, filled in at the end
  for (const s of header.structs) {
    if (!IDENT.test(s.name)) continue;
    add({ kind: 'struct', struct: s.name }, 1, `sizeof(struct ${s.name})`);
    for (const f of s.fields) {
      if (!IDENT.test(f.name) || f.bits !== undefined) continue;
      const offset = `offsetof(struct ${s.name}, ${f.name})`;
      const flexible = f.count === '';
      add(
        { kind: 'field', struct: s.name, field: f.name, flexible },
        flexible ? 1 : 2,
        flexible ? offset : `${offset}, sizeof(((struct ${s.name} *)0)->${f.name})`,
      );
    }
  }
  for (const name of macros) add({ kind: 'macro', name }, 3, `VIOMMU_VALUE(${name})`);
  text.push('};', '');
  text[countLine] = `\t${index},`;
  return { text: text.join('\n'), lines, entries: index };
}
