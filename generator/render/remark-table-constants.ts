// Remark plugin: a table row that defines a constant (feature bits, RESV_MEM subtypes, fault
// reasons) gets the constant's anchor, like a `#define` line does.

import type { Root } from 'mdast';
import { visit } from 'unist-util-visit';
import type { VFile } from 'vfile';
import { constantAnchor } from './anchors.js';
import { placeKey, type RenderContext } from './context.js';

export function remarkTableConstants(ctx: RenderContext) {
  const byPlace = new Map(
    ctx.model.constants.map((c) => [placeKey(c.source.file, c.source.line, c.source.column), c]),
  );
  return (tree: Root, file: VFile): void => {
    visit(tree, 'tableRow', (row) => {
      for (const cell of row.children) {
        const start = cell.position?.start;
        const constant = start && byPlace.get(placeKey(file.path, start.line, start.column));
        if (!constant) continue;
        row.data = {
          ...row.data,
          hProperties: { id: constantAnchor(constant.name), className: ['def'] },
        };
      }
    });
  };
}
