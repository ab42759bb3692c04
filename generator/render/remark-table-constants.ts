// Remark plugin: a table row that defines a constant (feature bits, RESV_MEM subtypes, fault
// reasons) gets the constant's anchor, like a `#define` line does. The parser marks the row
// with the constant (node.data.constant).

import type { Root } from 'mdast';
import { visit } from 'unist-util-visit';
import '../parse/index.js';
import { constantAnchor } from './anchors.js';
import type { RenderContext } from './context.js';

export function remarkTableConstants(ctx: RenderContext) {
  const names = new Set(ctx.model.constants.map((c) => c.name));
  return (tree: Root): void => {
    visit(tree, 'tableRow', (row) => {
      const constant = row.data?.constant;
      if (constant === undefined || !names.has(constant)) return;
      row.data = { ...row.data, hProperties: { id: constantAnchor(constant), className: ['def'] } };
    });
  };
}
