// A tiny typed way to build hast nodes (hastscript is not a dependency), and the bridge that
// lets a remark plugin put a finished hast element into mdast: mdast-util-to-hast turns a node
// with `data.hName`, `data.hProperties` and `data.hChildren` into exactly that element.

import type { Element, ElementContent, Properties } from 'hast';
import type { Emphasis, Paragraph } from 'mdast';

export type Child = ElementContent | string | number | undefined | false | Child[];

function flatten(children: Child[], out: ElementContent[]): ElementContent[] {
  for (const c of children) {
    if (c === undefined || c === false) continue;
    if (Array.isArray(c)) flatten(c, out);
    else if (typeof c === 'string' || typeof c === 'number')
      out.push({ type: 'text', value: String(c) });
    else out.push(c);
  }
  return out;
}

/** `h('a', { href: '#x', className: ['name'] }, 'text', child)`; undefined and false children are dropped. */
export function h(tagName: string, properties: Properties = {}, ...children: Child[]): Element {
  const props: Properties = {};
  for (const [key, value] of Object.entries(properties))
    if (value !== undefined) props[key] = value;
  return { type: 'element', tagName, properties: props, children: flatten(children, []) };
}

function carrier(element: Element) {
  return { hName: element.tagName, hProperties: element.properties, hChildren: element.children };
}

/** An mdast block that becomes `element` in hast. */
export function embedFlow(element: Element): Paragraph {
  return { type: 'paragraph', children: [], data: carrier(element) };
}

/** An mdast inline node that becomes `element` in hast. */
export function embedPhrasing(element: Element): Emphasis {
  return { type: 'emphasis', children: [], data: carrier(element) };
}
