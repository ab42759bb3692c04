// Shared by the render tests: the fixture spec, suite and reports of fixtures/render/, and
// small queries over hast trees.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Element, Nodes, Root } from 'hast';
import type { Root as MdastRoot } from 'mdast';
import { buildModel } from '../build-model.js';
import { messagesOf } from '../messages.js';
import { readSpecSources } from '../spec-sources.js';
import type { SpecModel } from '../model.js';
import { packageRoot } from '../paths.js';
import { readReport } from '../../conformance/report/read.js';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { readTestTags, type TaggedTest } from '../../conformance/report/test-tags.js';

export const FIXTURE = join(packageRoot, 'generator', 'test', 'fixtures', 'render');

export function loadSpec(specDir: string): { model: SpecModel; trees: MdastRoot[] } {
  const result = buildModel(readSpecSources(specDir, packageRoot), '0.0.0');
  assert.deepEqual(messagesOf(result.files), []);
  assert.ok(result.model && result.trees);
  return { model: result.model, trees: result.trees };
}

export const fixtureSpec = () => loadSpec(join(FIXTURE, 'spec'));

export const fixtureTags = (): TaggedTest[] => readTestTags(join(FIXTURE, 'suite'), packageRoot);

export const fixtureReports = (): ConformanceReport[] =>
  ['ref', 'qemu'].map((t) => readReport(join(FIXTURE, 'reports', `${t}.json`), `${t}.json`));

export function elements(
  tree: Root | Element,
  test: (e: Element) => boolean = () => true,
): Element[] {
  const out: Element[] = [];
  const walk = (node: Nodes): void => {
    if (node.type === 'element' && test(node)) out.push(node);
    if ('children' in node) node.children.forEach(walk);
  };
  walk(tree);
  return out;
}

export function byId(tree: Root | Element, id: string): Element {
  const found = elements(tree, (e) => e.properties.id === id);
  assert.equal(found.length, 1, `${found.length} elements with id ${id}`);
  return found[0];
}

export const hasClass = (e: Element, name: string): boolean =>
  Array.isArray(e.properties.className) && e.properties.className.includes(name);

export const byClass = (tree: Root | Element, name: string): Element[] =>
  elements(tree, (e) => hasClass(e, name));

export function textOf(node: Nodes): string {
  if (node.type === 'text') return node.value;
  return 'children' in node ? node.children.map(textOf).join('') : '';
}

export const hrefs = (tree: Root | Element): string[] =>
  elements(tree, (e) => e.tagName === 'a').map((a) => String(a.properties.href));
