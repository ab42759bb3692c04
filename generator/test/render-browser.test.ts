// The spec document and the matrix in a real browser: Debian's Chromium driven by
// playwright-core (no browser download). Screenshots are kept in reports/browser/.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../paths.js';
import { computeCoverage } from '../../conformance/report/coverage.js';
import { renderMatrix } from '../render/matrix.js';
import { CHROMIUM_FLAGS, findChromium } from '../render/pdf.js';
import { renderSpec } from '../render/spec-document.js';
import { fixtureReports, fixtureSpec, fixtureTags } from './render-fixture.js';

const ARTIFACTS = join(packageRoot, 'reports', 'browser');

describe('render: in a real browser', function () {
  this.timeout(60_000);
  let browser: Browser;
  let page: Page;
  let dir: string;
  const url = (name: string, anchor = '') => pathToFileURL(join(dir, name)).href + anchor;

  before(async () => {
    const executablePath = findChromium();
    assert.ok(
      executablePath,
      "Chromium is not on PATH; install Debian's package: apt-get install chromium",
    );
    dir = mkdtempSync(join(tmpdir(), 'viommu-render-'));
    const { model, trees } = fixtureSpec();
    const reports = fixtureReports();
    const coverage = computeCoverage(model, fixtureTags(), reports);
    writeFileSync(
      join(dir, 'spec.html'),
      renderSpec({ model, trees, coverage, matrixHref: 'matrix.html' }),
    );
    writeFileSync(
      join(dir, 'matrix.html'),
      renderMatrix(reports, { model, specHref: 'spec.html' }),
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath,
      headless: true,
      chromiumSandbox: false,
      args: CHROMIUM_FLAGS,
    });
  });

  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  afterEach(async () => {
    await page.close();
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('follows an anchor to a requirement and shows its badge, tests and verdicts', async () => {
    await page.goto(url('spec.html'));
    await page.locator('main > p a[href="#dev.attach.reserved"]').click();
    assert.equal(new URL(page.url()).hash, '#dev.attach.reserved');
    assert.equal(await page.locator(':target').getAttribute('id'), 'dev.attach.reserved');

    const item = page.locator('li[id="dev.attach.reserved"]');
    const box = await item.boundingBox();
    assert.ok(
      box && box.y >= 0 && box.y < 800,
      `the requirement is not in view: ${JSON.stringify(box)}`,
    );
    assert.equal(await item.locator('.badge .role').textContent(), 'device');
    const level = item.locator('.badge .level');
    assert.equal(await level.textContent(), 'MUST');
    const color = `getComputedStyle(document.querySelector('li[id="dev.attach.reserved"] .badge .level')).backgroundColor`;
    assert.equal(
      await page.evaluate(color),
      'rgb(179, 38, 30)',
      'the stylesheet gives MUST its colour',
    );
    assert.deepEqual(await item.locator('.coverage-of ul.tests li').allTextContents(), [
      'example 1',
      'a non-zero reserved field is refused generator/test/fixtures/render/suite/attach.ts:4',
      'an unknown endpoint is refused, reserved or not generator/test/fixtures/render/suite/attach.ts:5',
    ]);
    assert.deepEqual(await item.locator('.verdict').allTextContents(), ['ref: pass', 'qemu: fail']);
    await page.screenshot({ path: join(ARTIFACTS, 'spec-requirement.png') });

    await item.locator('.coverage-of a', { hasText: 'example 1' }).click();
    assert.equal(await page.locator(':target').getAttribute('id'), 'dev.attach.reserved#1');
  });

  it('filters the spec document by target', async () => {
    await page.goto(url('spec.html', '#coverage'));
    const qemu = page.locator('li[id="dev.attach.reserved"] .verdict[data-target="qemu"]');
    assert.equal(await qemu.isVisible(), true);
    await page.selectOption('#target-filter', 'ref');
    assert.equal(await qemu.isVisible(), false);
    assert.equal(
      await page.locator('table.coverage-summary th[data-target="ref"]').first().isVisible(),
      true,
    );
    assert.equal(
      await page.locator('table.coverage-summary th[data-target="qemu"]').first().isVisible(),
      false,
    );
  });

  it('switches the matrix to a target and links back to the spec', async () => {
    await page.goto(url('matrix.html'));
    const row = page.locator('tr[id="dev.attach.reserved"]');
    assert.deepEqual(await row.locator('td.cell .verdict').allTextContents(), ['pass', 'fail']);
    await page.selectOption('#target-filter', 'qemu');
    assert.equal(await row.locator('td.cell[data-target="ref"]').isVisible(), false);
    assert.equal(await row.locator('td.cell[data-target="qemu"]').isVisible(), true);
    assert.equal(
      await page.locator('table.matrix-summary tr[data-target="ref"]').isVisible(),
      false,
    );
    assert.equal(await row.locator('td.cell[data-target="qemu"] pre').isVisible(), true);
    await page.screenshot({ path: join(ARTIFACTS, 'matrix-qemu.png'), fullPage: true });

    await row.locator('a[href="spec.html#dev.attach.reserved"]').click();
    assert.equal(new URL(page.url()).pathname.endsWith('/spec.html'), true);
    assert.equal(await page.locator(':target').getAttribute('id'), 'dev.attach.reserved');
  });
});
