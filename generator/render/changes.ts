// changes.html: the spec's change history, one section per step from each version to the
// next (v0.4 → v0.5 … v0.12-2019 → current), each with its ABI changes (drift's finding types)
// and statement changes, as `viommu diff` gives them. The spec document links to it.

import type { Root as HastRoot } from 'hast';
import rehypeStringify from 'rehype-stringify';
import { unified } from 'unified';
import type { SpecModel } from '../model.js';
import { abiChangeText, abiKindWords, diffModels, type SpecDiff } from '../versions/diff.js';
import { htmlPage } from './document.js';
import { h } from './hast.js';

/** Each version against the one after it, oldest first. */
export function historySteps(versions: { name: string; model: SpecModel }[]): SpecDiff[] {
  return versions
    .slice(1)
    .map((v, i) => diffModels(versions[i].model, v.model, versions[i].name, v.name));
}

const stepSlug = (d: SpecDiff) => `changes-${d.from}-to-${d.to}`.replace(/[^a-z0-9-]/gi, '-');

export function changesTree(
  steps: SpecDiff[],
  options: { title: string; specHref?: string },
): HastRoot {
  const sections = steps.map((d) =>
    h(
      'section',
      { id: stepSlug(d) },
      h('h2', {}, `${d.from} → ${d.to}`),
      h('p', {}, `${d.abi.length} ABI changes, ${d.statements.length} statement changes`),
      d.abi.length > 0 &&
        h(
          'ul',
          { className: ['abi-changes'] },
          d.abi.map((f) =>
            h(
              'li',
              { className: [`change-${f.kind}`] },
              h('strong', {}, abiKindWords(f.kind)),
              ': ',
              h('code', {}, abiChangeText(f)),
            ),
          ),
        ),
      d.statements.length > 0 &&
        h(
          'ul',
          { className: ['statement-changes'] },
          d.statements.map((s) =>
            h(
              'li',
              { className: [`change-${s.kind}`] },
              h('strong', {}, s.kind === 'meaning' ? 'error' : s.kind),
              ': ',
              s.message,
            ),
          ),
        ),
    ),
  );
  return htmlPage({
    title: `${options.title}: change history`,
    subtitle: `${steps.length} steps`,
    links: options.specHref ? [{ href: options.specHref, text: 'Specification' }] : [],
    targets: [],
    aside: h(
      'nav',
      { className: ['toc'] },
      h(
        'ol',
        {},
        steps.map((d) => h('li', {}, h('a', { href: `#${stepSlug(d)}` }, `${d.from} → ${d.to}`))),
      ),
    ),
    main: [h('h1', {}, 'Change history'), sections],
  });
}

export function renderChanges(
  steps: SpecDiff[],
  options: { title: string; specHref?: string },
): string {
  return unified().use(rehypeStringify).stringify(changesTree(steps, options));
}
