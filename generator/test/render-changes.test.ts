// changes.html: one section per step of the spec's history, with the steps' real changes,
// and the spec document links to it.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { historySteps, renderChanges } from '../render/changes.js';
import { computeCoverage } from '../../conformance/report/coverage.js';
import { renderSpec } from '../render/spec-document.js';
import { allVersions } from '../versions/resolve.js';
import { loadSpec } from './render-fixture.js';
import { specModel, version } from './spec-model.js';

describe('the change history page', () => {
  const steps = () =>
    historySteps(
      allVersions(join(packageRoot, 'spec-src'), packageRoot, version, specModel()).versions,
    );

  it('has a section per step, oldest first, with each step’s changes', () => {
    const html = renderChanges(steps(), { title: 'T', specHref: 'spec.html' });
    const headings = [...html.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1]);
    assert.deepEqual(headings, [
      'v0.4 → v0.5',
      'v0.5 → v0.7',
      'v0.7 → v0.9',
      'v0.9 → v0.12-2019',
      'v0.12-2019 → current',
    ]);
    const step = html.slice(
      html.indexOf('<h2>v0.9 → v0.12-2019'),
      html.indexOf('<h2>v0.12-2019 →'),
    );
    assert.match(
      step,
      /<strong>value changed<\/strong>: <code>VIRTIO_IOMMU_MAP_F_MMIO: 8 → 4<\/code>/,
    );
    assert.match(step, /<strong>removed<\/strong>: <code>VIRTIO_IOMMU_MAP_F_EXEC \(4\)<\/code>/);
    const last = html.slice(html.indexOf('<h2>v0.12-2019 →'));
    assert.match(last, /<strong>added<\/strong>: dev\.attach\.unknown-flags \(MUST\)/);
    assert.match(last, /<strong>removed<\/strong>: dev\.init\.no-bypass-access \(SHOULD NOT\)/);
    assert.match(html, /<a href="spec\.html">Specification<\/a>/);
  });

  it('is linked from the spec document', () => {
    const { model, trees } = loadSpec(join(packageRoot, 'spec-src'));
    const coverage = computeCoverage(model, [], []);
    assert.match(
      renderSpec({ model, trees, coverage, changesHref: 'changes.html' }),
      /<a href="changes\.html">Change history<\/a>/,
    );
    assert.doesNotMatch(renderSpec({ model, trees, coverage }), /Change history/);
  });
});
