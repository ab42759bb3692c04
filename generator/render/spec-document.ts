// The spec document: spec-src through one unified pipeline, remark (anchors, badges, layout
// tables, links) → rehype (the page frame) → HTML, with the coverage summary at the end.

import type { ElementContent, Root as HastRoot } from 'hast';
import type { Root as MdastRoot } from 'mdast';
import rehypeStringify from 'rehype-stringify';
import remarkRehype from 'remark-rehype';
import { unified } from 'unified';
import type { SpecModel } from '../model.js';
import { COVERAGE_ANCHOR } from './anchors.js';
import type { RenderContext } from './context.js';
import type { Coverage } from '../../conformance/report/coverage.js';
import { coverageSummary } from './coverage-view.js';
import { htmlPage } from './document.js';
import { NameLinks } from './name-links.js';
import { remarkCBlocks } from './remark-c-blocks.js';
import { remarkHeadingIds } from './remark-heading-ids.js';
import { remarkNameLinks } from './remark-name-links.js';
import { remarkStatements } from './remark-statements.js';
import { remarkTableConstants } from './remark-table-constants.js';
import { tableOfContents } from './toc.js';

export interface SpecRenderInput {
  model: SpecModel;
  /**
   * The spec-src files the model was built from, as the parser left them (BuildResult.trees):
   * mdast in reading order, each node that defines a model item marked with it.
   */
  trees: MdastRoot[];
  coverage: Coverage;
  /** The matrix page to link to, when one is written beside the document (`matrix.html`). */
  matrixHref?: string;
  /** The change history page to link to, when one is written beside the document. */
  changesHref?: string;
}

/** Rehype plugin: wraps the spec's HTML in the page frame, with contents and coverage summary. */
function rehypeSpecPage(ctx: RenderContext & { changesHref?: string }) {
  return (tree: HastRoot): HastRoot =>
    htmlPage({
      title: ctx.model.title,
      subtitle: `version ${ctx.model.version}`,
      links: [
        { href: `#${COVERAGE_ANCHOR}`, text: 'Coverage' },
        ...(ctx.matrixHref ? [{ href: ctx.matrixHref, text: 'Conformance matrix' }] : []),
        ...(ctx.changesHref ? [{ href: ctx.changesHref, text: 'Change history' }] : []),
      ],
      targets: ctx.coverage.targets,
      aside: tableOfContents(ctx.model.sections, [
        { slug: COVERAGE_ANCHOR, title: 'Coverage', depth: 2 },
      ]),
      main: [
        tree.children.filter((c): c is ElementContent => c.type !== 'doctype'),
        coverageSummary(ctx.coverage, ctx.matrixHref),
      ],
    });
}

function pipeline(input: SpecRenderInput) {
  const ctx: RenderContext = {
    model: input.model,
    coverage: input.coverage,
    names: new NameLinks(input.model),
    matrixHref: input.matrixHref,
  };
  // The plugins change the tree they run on: they get a copy of the parsed files, as one tree.
  const markdown = unified()
    .use(remarkHeadingIds)
    .use(remarkStatements, ctx)
    .use(remarkCBlocks, ctx)
    .use(remarkTableConstants, ctx)
    .use(remarkNameLinks, ctx);
  const parsed: MdastRoot = {
    type: 'root',
    children: structuredClone(input.trees).flatMap((tree) => tree.children),
  };
  const root = markdown.runSync(parsed) as MdastRoot;
  const html = unified()
    .use(remarkRehype)
    .use(rehypeSpecPage, { ...ctx, changesHref: input.changesHref })
    .use(rehypeStringify);
  return { root, html };
}

/** The spec document as a hast tree. */
export function specTree(input: SpecRenderInput): HastRoot {
  const { root, html } = pipeline(input);
  return html.runSync(root);
}

/** The spec document as one self-contained HTML file. */
export function renderSpec(input: SpecRenderInput): string {
  const { root, html } = pipeline(input);
  return html.stringify(html.runSync(root));
}
