// Remark plugin: a ` ```c ` block shows its code with an anchor on every line that defines a
// struct or a constant, links from every struct and constant it uses, and beside the code the
// offset/size table of each struct it defines. The parser marks the block with what it defines,
// line by line (node.data.definitions).

import type { Element } from 'hast';
import type { Root } from 'mdast';
import { visit } from 'unist-util-visit';
import type { Constant, Struct } from '../model.js';
import '../parse/index.js';
import { constantAnchor, structAnchor } from './anchors.js';
import { draftBadge } from './badges.js';
import type { RenderContext } from './context.js';
import { embedFlow, h, type Child } from './hast.js';
import { layoutTable } from './layout-table.js';

export function remarkCBlocks(ctx: RenderContext) {
  const { model, names } = ctx;
  const structsByName = new Map(model.structs.map((s) => [s.name, s]));
  const constantsByName = new Map(model.constants.map((c) => [c.name, c]));
  return (tree: Root): void => {
    visit(tree, 'code', (node, index, parent) => {
      if (node.lang !== 'c' || !parent || index === undefined) return;
      const definitions = node.data?.definitions ?? [];
      const defined: Struct[] = [];
      const constants: Constant[] = [];
      const anchors = new Map<number, string[]>();
      const anchor = (line: number, id: string) =>
        anchors.set(line, [...(anchors.get(line) ?? []), id]);
      // Structs first, then constants: a line that defines both is anchored at the struct.
      for (const d of definitions) {
        const s = d.struct === undefined ? undefined : structsByName.get(d.struct);
        if (s) {
          defined.push(s);
          anchor(d.line, structAnchor(s.name));
        }
      }
      for (const d of definitions) {
        const c = d.constant === undefined ? undefined : constantsByName.get(d.constant);
        if (c) {
          constants.push(c);
          anchor(d.line, constantAnchor(c.name));
        }
      }

      const lines: Child[] = node.value.split('\n').map((text, i) => {
        const content = names.linkTokens(text, false);
        const [first, ...more] = anchors.get(i) ?? [];
        const line = first
          ? h(
              'span',
              { id: first, className: ['def'] },
              more.map((id) => h('span', { id })),
              content,
            )
          : content;
        return [line, '\n'];
      });
      const code: Element = h('pre', {}, h('code', { className: ['language-c'] }, lines));
      // A block of a draft's structs or constants wears the draft's badge.
      const draft = [...defined, ...constants].find((d) => d.draft)?.draft;
      const marked = draft ? [draftBadge(draft), code] : [code];
      parent.children[index] = embedFlow(
        defined.length || draft
          ? h(
              'div',
              { className: ['c-block', ...(draft ? ['draft'] : [])] },
              ...marked,
              ...(defined.length
                ? [h('div', { className: ['layouts'] }, defined.map(layoutTable))]
                : []),
            )
          : code,
      );
    });
  };
}
