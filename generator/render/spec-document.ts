// The spec document: spec-src through one unified pipeline, remark (anchors, badges, layout
// tables, links) → rehype (the page frame) → HTML, with the coverage summary at the end.

import type { ElementContent, Root as HastRoot } from 'hast';
import type { Root as MdastRoot } from 'mdast';
import rehypeStringify from 'rehype-stringify';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import remarkRehype from 'remark-rehype';
import { unified } from 'unified';
import type { VFile } from 'vfile';
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
  /** The spec-src files the model was built from, in reading order. */
  files: VFile[];
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
  // Each file goes through remark on its own, so that plugins can match nodes to the model by
  // file:line:column; the files then form one tree for rehype.
  const markdown = unified()
    .use(remarkParse)
    .use(remarkGfm)
    .use(remarkHeadingIds)
    .use(remarkStatements, ctx)
    .use(remarkCBlocks, ctx)
    .use(remarkTableConstants, ctx)
    .use(remarkNameLinks, ctx);
  const root: MdastRoot = {
    type: 'root',
    children: input.files.flatMap(
      (file) => (markdown.runSync(markdown.parse(file), file) as MdastRoot).children,
    ),
  };
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
