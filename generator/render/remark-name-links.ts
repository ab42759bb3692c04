// Remark plugin: inline code that names a statement, a constant, a group, a struct or a
// qualified field links to where the spec defines it.

import type { Root } from 'mdast';
import { SKIP, visit } from 'unist-util-visit';
import { hrefTo } from './anchors.js';
import type { RenderContext } from './context.js';

export function remarkNameLinks(ctx: RenderContext) {
  return (tree: Root): void => {
    visit(tree, 'inlineCode', (node, index, parent) => {
      if (!parent || index === undefined || parent.type === 'link') return;
      const anchor = ctx.names.inline(node.value);
      if (!anchor) return;
      parent.children[index] = {
        type: 'link',
        url: hrefTo(anchor),
        children: [node],
        data: { hProperties: { className: ['name'] } },
      };
      return [SKIP, index + 1];
    });
  };
}
