// The spec document, checked on its hast tree: anchors, badges, examples, layout tables, links,
// coverage and the page frame.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Element, Root } from 'hast';
import type { SpecModel } from '../model.js';
import { packageRoot } from '../paths.js';
import { computeCoverage } from '../../conformance/report/coverage.js';
import { renderSpec, specTree } from '../render/spec-document.js';
import {
  byClass,
  byId,
  elements,
  fixtureReports,
  fixtureSpec,
  fixtureTags,
  hasClass,
  hrefs,
  loadSpec,
  textOf,
} from './render-fixture.js';

const rows = (table: Element): string[][] =>
  elements(table, (e) => e.tagName === 'tr').map((tr) =>
    elements(tr, (e) => e.tagName === 'td' || e.tagName === 'th').map((c) => textOf(c)),
  );

/** Every `#…` link of the page lands on an element with that ID. */
function assertLinksLand(tree: Root): void {
  const ids = new Set(
    elements(tree, (e) => e.properties.id !== undefined).map((e) => String(e.properties.id)),
  );
  const broken = hrefs(tree)
    .filter((href) => href.startsWith('#'))
    .map((href) => decodeURIComponent(href.slice(1)))
    .filter((id) => !ids.has(id));
  assert.deepEqual([...new Set(broken)], []);
}

describe('render: the spec document', () => {
  let model: SpecModel;
  let tree: Root;
  before(() => {
    const spec = fixtureSpec();
    model = spec.model;
    const coverage = computeCoverage(model, fixtureTags(), fixtureReports());
    tree = specTree({ model, trees: spec.trees, coverage, matrixHref: 'matrix.html' });
  });

  it('gives every requirement its ID as anchor, and a badge with role and level', () => {
    const item = byId(tree, 'dev.attach.reserved');
    assert.equal(item.tagName, 'li');
    assert.ok(
      hasClass(item, 'statement') && hasClass(item, 'level-must') && hasClass(item, 'role-device'),
    );
    const [badge] = byClass(item, 'badge');
    assert.equal(textOf(badge), 'deviceMUST');
    assert.equal(badge.properties.title, 'device requirement, MUST');
    const [idLink] = byClass(item, 'statement-id');
    assert.equal(idLink.properties.href, '#dev.attach.reserved');
    assert.equal(textOf(byClass(byId(tree, 'dev.attach.noent'), 'badge')[0]), 'deviceMUST NOT');
    assert.equal(textOf(byClass(byId(tree, 'drv.attach.reserved'), 'badge')[0]), 'driverSHOULD');
    const definition = byId(tree, 'dev.attach.same-domain');
    assert.ok(hasClass(definition, 'level-defined'));
    const [definedBadge] = byClass(definition, 'badge');
    assert.equal(textOf(definedBadge), 'deviceDEFINED');
    assert.equal(definedBadge.properties.title, 'device definition, DEFINED');
  });

  it('shows scenarios as numbered examples with their own anchors and linked constants', () => {
    const example = byId(tree, 'dev.attach.ok#2');
    assert.equal(example.tagName, 'figure');
    assert.match(textOf(example), /^Example 2 \(scenario dev\.attach\.ok#2\)needs F_PROBE\nattach/);
    assert.deepEqual(hrefs(example), [
      '#dev.attach.ok%232',
      '#VIRTIO_IOMMU_F_PROBE',
      '#VIRTIO_IOMMU_ATTACH_F_BYPASS',
      '#VIRTIO_IOMMU_S_OK',
      '#VIRTIO_IOMMU_S_INVAL',
    ]);
    assert.equal(elements(byId(tree, 'dev.attach.ok'), (e) => e.tagName === 'figure').length, 2);
  });

  it('tells under each requirement which tests check it and the verdict per target', () => {
    const [line] = byClass(byId(tree, 'dev.attach.reserved'), 'coverage-of');
    assert.equal(
      textOf(line),
      'Tested by: example 1' +
        'a non-zero reserved field is refused generator/test/fixtures/render/suite/attach.ts:4' +
        'an unknown endpoint is refused, reserved or not generator/test/fixtures/render/suite/attach.ts:5' +
        'ref: passqemu: fail',
    );
    const verdicts = byClass(line, 'verdict');
    assert.deepEqual(
      verdicts.map((v) => [v.properties.dataTarget, v.properties.href, v.properties.className]),
      [
        ['ref', 'matrix.html#dev.attach.reserved', ['verdict', 'verdict-pass']],
        ['qemu', 'matrix.html#dev.attach.reserved', ['verdict', 'verdict-fail']],
      ],
    );
    assert.equal(verdicts[1].properties.title, 'status S_OK, expected S_INVAL');
    const [untested] = byClass(byId(tree, 'drv.attach.reserved'), 'coverage-of');
    assert.equal(textOf(untested), 'Tested by: no test yetref: no verdictqemu: no verdict');
  });

  it('puts the offset/size table of each struct beside its code', () => {
    const attach = byId(tree, 'struct.virtio_iommu_req_attach');
    assert.equal(textOf(attach), 'struct virtio_iommu_req_attach {');
    const [table] = elements(
      tree,
      (e) =>
        e.tagName === 'table' &&
        hasClass(e, 'layout') &&
        textOf(e).startsWith('struct virtio_iommu_req_attach'),
    );
    assert.deepEqual(rows(table), [
      ['Offset', 'Size', 'Field', 'Type', 'Part'],
      ['0', '4', 'head', 'struct virtio_iommu_req_head', 'device-readable'],
      ['4', '4', 'domain', 'le32', 'device-readable'],
      ['8', '4', 'endpoint', 'le32', 'device-readable'],
      ['12', '4', 'flags', 'le32', 'device-readable'],
      ['16', '4', 'reserved', 'u8[4]', 'device-readable'],
      ['20', '4', 'tail', 'struct virtio_iommu_req_tail', 'device-writable'],
    ]);
    assert.match(textOf(table), /: 24 bytes; device-readable 20, device-writable 4/);
    assert.equal(byId(tree, 'struct.virtio_iommu_req_attach.flags').tagName, 'tr');
  });

  it('lays out variable arrays and bit fields', () => {
    const probe = elements(
      tree,
      (e) => hasClass(e, 'layout') && textOf(e).startsWith('struct virtio_iommu_req_probe'),
    )[0];
    assert.deepEqual(rows(probe).slice(-2), [
      ['72', 'probe_size', 'properties', 'u8[probe_size]', 'device-writable'],
      ['72 + probe_size', '4', 'tail', 'struct virtio_iommu_req_tail', 'device-writable'],
    ]);
    const property = elements(
      tree,
      (e) => hasClass(e, 'layout') && textOf(e).startsWith('struct virtio_iommu_probe_property'),
    )[0];
    assert.deepEqual(rows(property).slice(1), [
      ['0', 'bits 0–11', 'type', 'le16'],
      ['0', 'bits 12–15', 'reserved', 'le16'],
      ['2', '2', 'length', 'le16'],
    ]);
  });

  it('anchors every constant where it is defined and links it where it is used', () => {
    assert.equal(textOf(byId(tree, 'VIRTIO_IOMMU_S_INVAL')), '#define VIRTIO_IOMMU_S_INVAL 4');
    const feature = byId(tree, 'VIRTIO_IOMMU_F_PROBE');
    assert.equal(feature.tagName, 'tr');
    const prose = elements(
      tree,
      (e) => e.tagName === 'p' && textOf(e).startsWith('A device that finds'),
    )[0];
    assert.deepEqual(hrefs(prose), ['#VIRTIO_IOMMU_S_INVAL', '#dev.attach.reserved']);
    const tail = elements(
      tree,
      (e) => e.tagName === 'p' && textOf(e).startsWith('Every request ends'),
    )[0];
    assert.deepEqual(hrefs(tail), ['#struct.virtio_iommu_req_tail', '#requests']);
    const config = elements(tree, (e) => e.tagName === 'p' && textOf(e).startsWith('Only'))[0];
    assert.deepEqual(hrefs(config), ['#struct.virtio_iommu_config.bypass']);
  });

  it('leaves bare field names unlinked: several structs share them', () => {
    const item = byId(tree, 'drv.attach.reserved');
    const code = elements(item, (e) => e.tagName === 'code' && textOf(e) === 'reserved');
    assert.equal(code.length, 1);
    assert.deepEqual(hrefs(item), ['#drv.attach.reserved']);
  });

  it('has a table of contents, section anchors and a coverage summary', () => {
    const [toc] = byClass(tree, 'toc');
    const expected = model.sections.slice(1).map((s) => `#${s.slug}`);
    assert.deepEqual(hrefs(toc), [...expected, '#coverage']);
    for (const s of model.sections) assert.match(byId(tree, s.slug).tagName, /^h[1-6]$/);
    const [summary] = elements(
      tree,
      (e) => e.tagName === 'table' && hasClass(e, 'coverage-summary'),
    );
    assert.deepEqual(rows(summary), [
      ['Section', 'Statements', 'With tests', 'ref', 'qemu'],
      ['pass', 'fail', 'pass', 'fail'],
      ['Device requirements: ATTACH request', '3', '3100%', '3', '0', '1', '1'],
      ['Device definitions: ATTACH request', '1', '00%', '0', '0', '0', '0'],
      ['Driver requirements: ATTACH request', '1', '00%', '0', '0', '0', '0'],
      ['Device requirements: PROBE request', '1', '1100%', '0', '0', '0', '0'],
      ['Device statements', '5', '480%', '3', '0', '1', '1'],
      ['Driver statements', '1', '00%', '0', '0', '0', '0'],
      ['All statements', '6', '467%', '3', '0', '1', '1'],
    ]);
  });

  it('is one self-contained page whose every internal link lands', () => {
    assert.deepEqual(
      elements(tree, (e) => e.tagName === 'link' || e.properties.src !== undefined),
      [],
    );
    assert.equal(elements(tree, (e) => e.tagName === 'style').length, 1);
    assert.equal(elements(tree, (e) => e.tagName === 'script').length, 1);
    assert.deepEqual(
      elements(tree, (e) => e.tagName === 'option').map((o) => o.properties.value),
      ['', 'ref', 'qemu'],
    );
    assertLinksLand(tree);
  });

  it('renders from the parsed trees and leaves them as the parser handed them on', () => {
    const spec = fixtureSpec();
    const parsed = structuredClone(spec.trees);
    const coverage = computeCoverage(spec.model, [], []);
    const first = renderSpec({ ...spec, coverage });
    assert.deepEqual(spec.trees, parsed);
    assert.equal(renderSpec({ ...spec, coverage }), first, 'a second render is the same page');
  });

  it('without reports: no verdicts, no target filter, no link to a matrix', () => {
    const spec = fixtureSpec();
    const html = renderSpec({ ...spec, coverage: computeCoverage(spec.model, [], []) });
    assert.match(html, /^<!doctype html><html lang="en"><head><meta charset="utf-8">/);
    assert.doesNotMatch(html, /matrix\.html|<script|class="verdict/);
    assert.match(html, /<li id="dev\.attach\.reserved" class="statement role-device level-must">/);
  });

  it('renders the real spec with every internal link landing', () => {
    const spec = loadSpec(join(packageRoot, 'spec-src'));
    const real = specTree({ ...spec, coverage: computeCoverage(spec.model, [], []) });
    for (const s of spec.model.statements) assert.equal(byId(real, s.id).tagName, 'li');
    for (const c of spec.model.constants) byId(real, c.name);
    for (const s of spec.model.structs) byId(real, `struct.${s.name}`);
    assertLinksLand(real);
  });
});
