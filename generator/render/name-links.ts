// Where a name of the model is defined in the spec document, so that every use of it can link
// there: inline code in prose, identifiers in C blocks and in scenarios.

import type { Element } from 'hast';
import type { SpecModel } from '../model.js';
import { NAME_PREFIX } from '../model-facts.js';
import { constantAnchor, fieldAnchor, hrefTo, statementAnchor, structAnchor } from './anchors.js';
import { h, type Child } from './hast.js';

export class NameLinks {
  private readonly statements: Set<string>;
  private readonly constants: Set<string>;
  private readonly groups: Map<string, string>;
  private readonly fields: Map<string, Set<string>>;

  constructor(model: SpecModel) {
    this.statements = new Set(model.statements.map((s) => s.id));
    this.constants = new Set(model.constants.map((c) => c.name));
    this.groups = new Map(model.groups.map((g) => [`${g.prefix}*`, g.section]));
    this.fields = new Map(
      model.structs.map((s) => [
        s.name,
        new Set(
          s.fields.flatMap((f) => (f.kind === 'bits' ? f.bits.map((b) => b.name) : [f.name])),
        ),
      ]),
    );
  }

  /**
   * The anchor for a piece of inline code: a statement ID, a constant, a group (its section), a
   * struct (`virtio_iommu_req_map` or `struct virtio_iommu_req_map`) or a field written with its
   * struct (`virtio_iommu_config.bypass`). A bare field name is left alone: several structs
   * share `reserved` or `domain`, and a wrong link is worse than none.
   */
  inline(value: string): string | undefined {
    if (this.statements.has(value)) return statementAnchor(value);
    if (this.constants.has(value)) return constantAnchor(value);
    const group = this.groups.get(value);
    if (group) return group;
    const name = value.replace(/^struct\s+/, '');
    if (this.fields.has(name)) return structAnchor(name);
    const [struct, field] = name.split('.');
    const fields = this.fields.get(struct);
    if (!fields) return undefined;
    return fields.has(field) ? fieldAnchor(struct, field) : structAnchor(struct);
  }

  /**
   * The anchor for an identifier in code: a constant or a struct name. With `shortConstants`
   * (scenarios), constants may leave out the `VIRTIO_IOMMU_` prefix, as scenarios do.
   */
  private token(word: string, shortConstants: boolean): string | undefined {
    if (this.constants.has(word)) return constantAnchor(word);
    if (shortConstants && this.constants.has(NAME_PREFIX + word))
      return constantAnchor(NAME_PREFIX + word);
    if (this.fields.has(word)) return structAnchor(word);
    return undefined;
  }

  /** `text` as text and links: every identifier that names a constant or a struct links to it. */
  linkTokens(text: string, shortConstants: boolean): Child[] {
    const out: Child[] = [];
    let last = 0;
    for (const m of text.matchAll(/\b[A-Za-z_]\w*\b/g)) {
      const anchor = this.token(m[0], shortConstants);
      if (!anchor) continue;
      out.push(text.slice(last, m.index), nameLink(anchor, m[0]));
      last = m.index + m[0].length;
    }
    out.push(text.slice(last));
    return out.filter((c) => c !== '');
  }
}

export function nameLink(anchor: string, ...children: Child[]): Element {
  return h('a', { href: hrefTo(anchor), className: ['name'] }, ...children);
}
