// Remark plugin: every section heading gets its slug as `id`, the same slug the model's
// sections carry, so `#bypass-mode` in the text and in the table of contents lands on it.

import type { Root } from 'mdast';
import { slug } from 'github-slugger';
import { plainText } from '../parse/markdown-walk.js';

export function remarkHeadingIds() {
  return (tree: Root): void => {
    for (const node of tree.children) {
      if (node.type !== 'heading') continue;
      node.data = {
        ...node.data,
        hProperties: { ...node.data?.hProperties, id: slug(plainText(node)) },
      };
    }
  };
}
