// Remark plugin: a ` ```c ` block shows its code with an anchor on every line that defines a
// struct or a constant, links from every struct and constant it uses, and beside the code the
// offset/size table of each struct it defines.

import type { Element } from 'hast';
import type { Root } from 'mdast';
import { visit } from 'unist-util-visit';
import type { VFile } from 'vfile';
import { constantAnchor, structAnchor } from './anchors.js';
import { draftBadge } from './badges.js';
import type { RenderContext } from './context.js';
import { embedFlow, h, type Child } from './hast.js';
import { layoutTable } from './layout-table.js';

export function remarkCBlocks(ctx: RenderContext) {
  const { model, names } = ctx;
  return (tree: Root, file: VFile): void => {
    const structs = model.structs.filter((s) => s.source.file === file.path);
    const constants = model.constants.filter((c) => c.source.file === file.path);
    visit(tree, 'code', (node, index, parent) => {
      const position = node.position;
      if (node.lang !== 'c' || !position || !parent || index === undefined) return;
      // The block's content starts on the line after the opening fence.
      const firstLine = position.start.line + 1;
      const inBlock = (line: number) => line >= firstLine && line < position.end.line;
      const defined = structs.filter((s) => inBlock(s.source.line));
      const anchors = new Map<number, string[]>();
      const anchor = (line: number, id: string) =>
        anchors.set(line, [...(anchors.get(line) ?? []), id]);
      for (const s of defined) anchor(s.source.line, structAnchor(s.name));
      for (const c of constants.filter((c) => inBlock(c.source.line))) {
        anchor(c.source.line, constantAnchor(c.name));
      }

      const lines: Child[] = node.value.split('\n').map((text, i) => {
        const content = names.linkTokens(text, false);
        const [first, ...more] = anchors.get(firstLine + i) ?? [];
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
      const draft = [...defined, ...constants.filter((c) => inBlock(c.source.line))].find(
        (d) => d.draft,
      )?.draft;
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
