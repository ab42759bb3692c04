// The page frame shared by the spec document and the matrix: one self-contained HTML file with
// the stylesheet inlined, a bar with the title, links to the other page and the target filter,
// and the contents beside the text.

import type { Element, ElementContent, Root } from 'hast';
import { stylesheet, targetFilterScript } from './assets.js';
import { h, type Child } from './hast.js';

export interface Page {
  title: string;
  /** Shown after the title in the bar: the spec version. */
  subtitle: string;
  links: { href: string; text: string }[];
  /** Target names; with two or more the bar gets a filter that shows one target at a time. */
  targets: string[];
  aside?: Element;
  main: Child[];
}

function targetFilter(targets: string[]): Element {
  return h(
    'label',
    {},
    'Target ',
    h(
      'select',
      { id: 'target-filter' },
      h('option', { value: '' }, 'all targets'),
      targets.map((t) => h('option', { value: t }, t)),
    ),
  );
}

export function htmlPage(page: Page): Root {
  const filter = page.targets.length > 1;
  const body: ElementContent[] = [
    h(
      'header',
      { className: ['topbar'] },
      h('span', { className: ['doc-title'] }, page.title),
      h('span', { className: ['version'] }, page.subtitle),
      h(
        'nav',
        {},
        page.links.map((l) => h('a', { href: l.href }, l.text)),
      ),
      filter && targetFilter(page.targets),
    ),
    h('div', { className: ['page'] }, page.aside, h('main', {}, page.main)),
  ];
  if (filter) body.push(h('script', {}, targetFilterScript()));
  return {
    type: 'root',
    children: [
      { type: 'doctype' },
      h(
        'html',
        { lang: 'en' },
        h(
          'head',
          {},
          h('meta', { charSet: 'utf-8' }),
          h('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
          h('title', {}, page.title),
          h('style', {}, stylesheet()),
        ),
        h('body', {}, body),
      ),
    ],
  };
}
