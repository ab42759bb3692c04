// The names inline code may use: structs (with and without `struct`), their fields by every
// dotted path and tail, constants, groups (`PREFIX_*`) and statement IDs.

import type { Constant, ConstantGroup, SourcePlace } from '../model.js';
import { hoistInlineStructs, type LocatedStruct } from './layout.js';
import type { ModelIndex } from './model-index.js';

export function knownNames(
  index: ModelIndex,
  constants: readonly Constant[],
  groups: readonly ConstantGroup[],
  ids: ReadonlyMap<string, SourcePlace>,
  located: readonly LocatedStruct[],
  failed: ReadonlySet<string>,
): Set<string> {
  const known = new Set<string>();
  for (const s of index.structs.values()) {
    known.add(s.name);
    known.add(`struct ${s.name}`);
    for (const path of index.fieldPaths(s.name).keys()) {
      known.add(path);
      known.add(`${s.name}.${path}`);
      // A nested path is also known by each of its tails: `input_range.start` → `start`.
      const parts = path.split('.');
      for (let i = 1; i < parts.length; i++) known.add(parts.slice(i).join('.'));
    }
    for (const f of s.fields) {
      known.add(f.name);
      known.add(`${s.name}.${f.name}`);
    }
  }
  for (const c of constants) known.add(c.name);
  for (const g of groups) known.add(`${g.prefix}*`);
  for (const id of ids.keys()) known.add(id);
  // Names declared in structs that failed to lay out are known too: their error is reported already.
  for (const item of hoistInlineStructs([...located])) {
    if (!failed.has(item.decl.name)) continue;
    known.add(item.decl.name);
    for (const m of item.decl.members) {
      if (m.kind === 'bits') m.bits.forEach((b) => known.add(b.name));
      else if (m.kind !== 'marker') known.add(m.name);
    }
  }
  return known;
}
