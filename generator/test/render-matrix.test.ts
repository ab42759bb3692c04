// The conformance matrix: statement × target, linked to the spec document.

import assert from 'node:assert/strict';
import type { Root } from 'hast';
import type { SpecModel } from '../model.js';
import { computeCoverage } from '../../conformance/report/coverage.js';
import { matrixTree, renderMatrix } from '../render/matrix.js';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { specTree } from '../render/spec-document.js';
import {
  byClass,
  byId,
  elements,
  fixtureReports,
  fixtureSpec,
  fixtureTags,
  hasClass,
  hrefs,
  textOf,
} from './render-fixture.js';

describe('render: the conformance matrix', () => {
  let model: SpecModel;
  let reports: ConformanceReport[];
  let tree: Root;
  before(() => {
    model = fixtureSpec().model;
    reports = fixtureReports();
    tree = matrixTree(reports, { model });
  });

  const statementRows = (t: Root) =>
    elements(t, (e) => e.tagName === 'tr' && typeof e.properties.id === 'string').map((e) =>
      String(e.properties.id),
    );

  it('has a row per device statement and per judged statement, grouped by section', () => {
    assert.deepEqual(statementRows(tree), [
      'dev.attach.reserved',
      'dev.attach.ok',
      'dev.attach.noent',
      'dev.attach.same-domain',
      'dev.probe.fill',
    ]);
    assert.deepEqual(
      byClass(tree, 'section').map((e) => [textOf(e), hrefs(e)[0]]),
      [
        ['Device requirements: ATTACH request', 'spec.html#device-requirements-attach-request'],
        ['Device definitions: ATTACH request', 'spec.html#device-definitions-attach-request'],
        ['Device requirements: PROBE request', 'spec.html#device-requirements-probe-request'],
      ],
    );
  });

  it('links each statement to its anchor in the spec document', () => {
    const row = byId(tree, 'dev.attach.reserved');
    assert.equal(hrefs(row)[0], 'spec.html#dev.attach.reserved');
    assert.equal(textOf(byClass(row, 'badge')[0]), 'deviceMUST');
  });

  it('shows a verdict per target, with reason, tests and evidence', () => {
    const cells = byClass(byId(tree, 'dev.attach.reserved'), 'cell');
    assert.deepEqual(
      cells.map((c) => c.properties.dataTarget),
      ['ref', 'qemu'],
    );
    assert.equal(textOf(byClass(cells[0], 'verdict')[0]), 'pass');
    const [details] = elements(cells[1], (e) => e.tagName === 'details');
    assert.equal(details.properties.open, true);
    assert.equal(
      textOf(cells[1]),
      'failstatus S_OK, expected S_INVAL1 test' +
        'dev.attach.reserved#1 — fail, 21 ms' +
        'request: 010000000100000008000000000000000100000000\nreply: 00000000\nexpected: status S_INVAL\nmessage: step 1: status S_OK, expected S_INVAL',
    );
    const probe = byClass(byId(tree, 'dev.probe.fill'), 'cell');
    assert.equal(textOf(probe[1]), 'no verdict');
    assert.match(textOf(probe[0]), /^not-applicableneeds F_PROBE, which the target does not offer/);
  });

  it('sums up each target and lists robustness findings', () => {
    const [summary] = elements(tree, (e) => e.tagName === 'table' && hasClass(e, 'matrix-summary'));
    const row = elements(
      summary,
      (e) => e.tagName === 'tr' && e.properties.dataTarget === 'qemu',
    )[0];
    assert.deepEqual(
      row.children.map((c) => textOf(c)),
      [
        'qemu',
        'qemu-system-x86_64 -M q35 -device virtio-iommu-pci',
        'viommu conformance 0.1.0',
        '2025-01-31T09:16:00.000+01:00',
        '20.5 s',
        '1',
        '1',
        '0',
        '1',
        '0',
        '1',
        '0',
        '0',
        '1',
      ],
    );
    const [robustness] = elements(tree, (e) => e.tagName === 'table' && hasClass(e, 'robustness'));
    assert.match(textOf(robustness), /qemurequest-floodhang5\.00 sno reply within 5 s/);
    const plain = reports.map((r) => ({ ...r, robustness: undefined }));
    assert.deepEqual(
      elements(matrixTree(plain, { model }), (e) => hasClass(e, 'robustness')),
      [],
    );
  });

  it('shows a suite error in a colour of its own, a MAY option, and a run that stopped', () => {
    const [ref] = fixtureReports();
    ref.verdicts[0] = {
      ...ref.verdicts[0]!,
      verdict: 'error',
      reason: 'TypeError: x is undefined',
      tests: [
        {
          title: 'dev.attach.reserved#1',
          outcome: 'error',
          durationMs: 3,
          evidence: { message: 'TypeError: x is undefined\n    at run (suite.js:1:1)' },
        },
      ],
    };
    ref.verdicts[3] = { ...ref.verdicts[3]!, verdict: 'pass', option: 'absent', tests: [] };
    ref.stopped = 'the target did not answer for 3 tests in a row';
    ref.robustness = [{ probe: 'probe-short-buffer', outcome: 'error', durationMs: 1 }];
    const t = matrixTree([ref], { model });
    const error = byClass(byId(t, 'dev.attach.reserved'), 'cell')[0]!;
    assert.equal(textOf(byClass(error, 'verdict')[0]), 'error');
    assert.ok(hasClass(byClass(error, 'verdict')[0]!, 'verdict-error'));
    assert.match(
      textOf(error),
      /^errorTypeError: x is undefined1 test[\s\S]*at run \(suite\.js:1:1\)$/,
    );
    assert.equal(elements(error, (e) => e.tagName === 'details')[0]!.properties.open, true);
    assert.equal(textOf(byClass(byId(t, 'dev.probe.fill'), 'option')[0]), 'option absent');
    assert.match(
      textOf(byClass(t, 'stopped')[0]),
      /ref: the run stopped early: the target did not answer/,
    );
    const [probes] = elements(t, (e) => e.tagName === 'table' && hasClass(e, 'robustness'));
    assert.equal(byClass(probes, 'verdict-error').length, 1);
  });

  it('works from reports alone, in their order, and links where it is told', () => {
    const alone = matrixTree(reports, { specHref: 'virtio-iommu.html' });
    assert.deepEqual(statementRows(alone), [
      'dev.attach.reserved',
      'dev.attach.ok',
      'dev.attach.noent',
      'dev.probe.fill',
    ]);
    assert.equal(hrefs(byId(alone, 'dev.attach.ok'))[0], 'virtio-iommu.html#dev.attach.ok');
    assert.equal(byClass(alone, 'section').length, 0);
  });

  it('keeps verdicts on statements the spec does not have, apart', () => {
    const [ref] = fixtureReports();
    ref.verdicts.push({
      statement: 'dev.attach.renamed',
      level: 'MUST',
      verdict: 'pass',
      tests: [],
    });
    const t = matrixTree([ref], { model });
    assert.equal(statementRows(t).at(-1), 'dev.attach.renamed');
    assert.equal(textOf(byClass(t, 'section').at(-1) as never), 'Not in this version of the spec');
  });

  it('is a self-contained page with a target filter, using the spec document stylesheet', () => {
    const html = renderMatrix(reports, { model });
    assert.match(html, /^<!doctype html>/);
    assert.match(
      html,
      /<style>\/\* The one stylesheet of the spec document and the conformance matrix/,
    );
    assert.match(
      html,
      /<select id="target-filter"><option value="">all targets<\/option><option value="ref">ref<\/option><option value="qemu">qemu<\/option><\/select>/,
    );
    assert.doesNotMatch(html, /<link|src=/);
  });

  it('refuses two reports for one target', () => {
    assert.throws(() => renderMatrix([reports[0], reports[0]]), /Two reports are for target "ref"/);
  });

  it('and the spec document link to each other, and every link lands', () => {
    const spec = fixtureSpec();
    const coverage = computeCoverage(spec.model, fixtureTags(), reports);
    const document = specTree({ ...spec, coverage, matrixHref: 'matrix.html' });
    const ids = (t: Root) =>
      new Set(
        elements(t, (e) => e.properties.id !== undefined).map((e) => String(e.properties.id)),
      );
    const into = (t: Root, page: string) =>
      hrefs(t)
        .filter((href) => href.startsWith(`${page}#`))
        .map((href) => decodeURIComponent(href.slice(page.length + 1)));
    const toSpec = into(tree, 'spec.html');
    const toMatrix = into(document, 'matrix.html');
    assert.ok(toSpec.length >= 6 && toMatrix.length >= 6);
    const specIds = ids(document);
    const matrixIds = ids(tree);
    assert.deepEqual(
      toSpec.filter((id) => !specIds.has(id)),
      [],
    );
    assert.deepEqual(
      toMatrix.filter((id) => !matrixIds.has(id)),
      [],
    );
  });
});
