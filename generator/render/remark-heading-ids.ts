// Remark plugin: every section heading gets its slug as `id`: the slug the parser gave the
// section (node.data.section), so `#bypass-mode` in the text and in the table of contents lands
// on it.

import type { Root } from 'mdast';
import '../parse/index.js';

export function remarkHeadingIds() {
  return (tree: Root): void => {
    for (const node of tree.children) {
      const section = node.type === 'heading' ? node.data?.section : undefined;
      if (section === undefined) continue;
      node.data = { ...node.data, hProperties: { ...node.data?.hProperties, id: section } };
    }
  };
}
