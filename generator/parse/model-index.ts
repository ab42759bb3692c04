// Look-ups over laid-out structs and constants, shared by the name resolver and the scenario parser.

import type { Constant, RequestPart, Struct } from '../model.js';
import { NAME_PREFIX } from '../model-facts.js';

/** A field reachable by a dotted path from a struct (`input_range.start`, `head.type`). */
export interface FieldPath {
  path: string;
  offset: number;
  /** Bytes the value occupies (a bit range reports its container's size). */
  size: number;
  part?: RequestPart;
  /** For bit ranges: where the value sits in its container. */
  bits?: { shift: number; width: number };
}

export class ModelIndex {
  readonly structs = new Map<string, Struct>();
  readonly constants = new Map<string, Constant>();
  private readonly paths = new Map<string, Map<string, FieldPath>>();

  constructor(structs: Struct[], constants: Constant[]) {
    for (const s of structs) this.structs.set(s.name, s);
    for (const c of constants) this.constants.set(c.name, c);
  }

  /** Every dotted field path of a struct, nested structs expanded. Scalars and arrays only. */
  fieldPaths(structName: string): Map<string, FieldPath> {
    const cached = this.paths.get(structName);
    if (cached) return cached;
    const out = new Map<string, FieldPath>();
    const walk = (s: Struct, prefix: string, base: number, part: RequestPart | undefined): void => {
      for (const f of s.fields) {
        const p = f.part ?? part;
        const path = prefix + f.name;
        if (f.kind === 'struct') {
          const inner = this.structs.get(f.struct);
          if (inner) walk(inner, `${path}.`, base + f.offset, p);
        } else if (f.kind === 'bits') {
          for (const b of f.bits) {
            out.set(prefix + b.name, {
              path: prefix + b.name,
              offset: base + f.offset,
              size: f.size,
              part: p,
              bits: { shift: b.shift, width: b.width },
            });
          }
        } else if (f.kind === 'scalar') {
          out.set(path, { path, offset: base + f.offset, size: f.size, part: p });
        }
      }
    };
    const s = this.structs.get(structName);
    if (s) walk(s, '', 0, undefined);
    this.paths.set(structName, out);
    return out;
  }

  /** A constant by full name or by its name without the `VIRTIO_IOMMU_` prefix. */
  constant(name: string): Constant | undefined {
    return this.constants.get(name) ?? this.constants.get(NAME_PREFIX + name);
  }
}

/** Edit distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = prev[j];
      prev[j] = next;
    }
  }
  return prev[b.length];
}

/** The closest candidate, if close enough to be a likely typo. */
function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const c of candidates) {
    // The distance is at least the difference in length: most candidates stop here.
    if (Math.abs(c.length - name.length) >= bestDistance) continue;
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  const hint = closest(name, candidates);
  return hint ? `; did you mean \`${hint}\`?` : '';
}

/**
 * "Did you mean" hints for many names against one set of candidates. Each hint costs a pass
 * over every candidate, so a spec with thousands of unknown names would cost names ×
 * candidates: hints are remembered per name, and only the first `budget` distinct names get
 * one. The names after that are reported all the same, without a hint.
 */
export class NameHints {
  readonly #candidates: readonly string[];
  readonly #hints = new Map<string, string>();
  #budget: number;

  constructor(candidates: Iterable<string>, budget = 100) {
    this.#candidates = [...candidates];
    this.#budget = budget;
  }

  /** `; did you mean \`x\`?`, or nothing. */
  hint(name: string): string {
    let hint = this.#hints.get(name);
    if (hint === undefined) {
      hint = this.#budget > 0 ? didYouMean(name, this.#candidates) : '';
      this.#budget--;
      this.#hints.set(name, hint);
    }
    return hint;
  }
}
