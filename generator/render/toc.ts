// The table of contents, nested by heading depth, from the model's sections.

import type { Element } from 'hast';
import type { Section } from '../model.js';
import { hrefTo } from './anchors.js';
import { h } from './hast.js';

export interface TocEntry {
  slug: string;
  title: string;
  depth: number;
}

/** Every section but the document's title, then `extra` (the coverage summary). */
export function tableOfContents(sections: Section[], extra: TocEntry[]): Element {
  const top = h('ol');
  const open: { depth: number; item: Element; list?: Element }[] = [];
  const entries: TocEntry[] = [...sections.filter((s, i) => !(i === 0 && s.depth === 1)), ...extra];
  for (const s of entries) {
    while (open.length && open[open.length - 1].depth >= s.depth) open.pop();
    const parent = open[open.length - 1];
    if (parent && !parent.list) {
      parent.list = h('ol');
      parent.item.children.push(parent.list);
    }
    const item = h('li', {}, h('a', { href: hrefTo(s.slug) }, s.title));
    (parent?.list ?? top).children.push(item);
    open.push({ depth: s.depth, item });
  }
  return h('nav', { className: ['toc'], ariaLabel: 'Contents' }, top);
}
