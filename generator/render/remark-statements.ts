// Remark plugin: each requirement list item becomes a statement with its ID as a permanent
// anchor, a badge with its role and level, its scenarios shown as numbered examples, and the
// line that tells which tests check it and how each target fared.

import type { Element } from 'hast';
import type { Root } from 'mdast';
import { visit } from 'unist-util-visit';
import type { Scenario, Statement } from '../model.js';
import '../parse/index.js';
import { hrefTo, scenarioAnchor, statementAnchor } from './anchors.js';
import { draftBadge, levelClass, statementBadge } from './badges.js';
import type { RenderContext } from './context.js';
import { statementCoverage } from './coverage-view.js';
import { embedFlow, embedPhrasing, h } from './hast.js';

function example(scenario: Scenario, index: number, ctx: RenderContext): Element {
  return h(
    'figure',
    { id: scenarioAnchor(scenario.id), className: ['example'] },
    h(
      'figcaption',
      {},
      h('a', { href: hrefTo(scenarioAnchor(scenario.id)) }, `Example ${index + 1}`),
      ` (scenario ${scenario.id})`,
    ),
    h(
      'pre',
      {},
      h('code', { className: ['language-scenario'] }, ctx.names.linkTokens(scenario.text, true)),
    ),
  );
}

export function remarkStatements(ctx: RenderContext) {
  const byId = new Map<string, Statement>(ctx.model.statements.map((s) => [s.id, s]));
  return (tree: Root): void => {
    visit(tree, 'listItem', (item) => {
      // The parser marks each requirement item with the statement it states.
      const statement = byId.get(item.data?.statement ?? '');
      const paragraph = item.children[0];
      if (!statement || paragraph?.type !== 'paragraph') return;
      const idNode = paragraph.children[0];
      if (idNode?.type !== 'inlineCode') return;
      const coverage = ctx.coverage.statements.get(statement.id);
      item.data = {
        ...item.data,
        hProperties: {
          id: statementAnchor(statement.id),
          className: [
            'statement',
            `role-${statement.role}`,
            levelClass(statement.level),
            ...(statement.draft ? ['draft'] : []),
          ],
        },
      };
      paragraph.children.splice(
        0,
        1,
        {
          type: 'link',
          url: hrefTo(statementAnchor(statement.id)),
          children: [idNode],
          data: { hProperties: { className: ['statement-id'] } },
        },
        { type: 'text', value: ' ' },
        embedPhrasing(statementBadge(statement.role, statement.level)),
        ...(statement.draft ? [embedPhrasing(draftBadge(statement.draft))] : []),
      );
      let n = 0;
      item.children = item.children.map((child) =>
        child.type === 'code' && child.lang === 'scenario' && statement.scenarios[n]
          ? embedFlow(example(statement.scenarios[n], n++, ctx))
          : child,
      );
      if (coverage) {
        item.children.push(
          embedFlow(statementCoverage(coverage, ctx.coverage.targets, ctx.matrixHref)),
        );
      }
    });
  };
}
