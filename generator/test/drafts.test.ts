// Drafts (spec-src files with a "Status: draft (needs FEATURE)" line): left out without
// --drafts, marked with --drafts, guarded in the header (which compiles either way with the
// real gcc and g++), kept fresh in dist/drafts/ by check, shown with a badge in a real browser,
// promoted by deleting the status line (which diff shows), and a promoted draft whose names
// collide with the spec's is reported at file:line:col, every collision at once.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildModel } from '../build-model.js';
import { messagesOf } from '../messages.js';
import type { SpecModel } from '../model.js';
import { packageRoot } from '../paths.js';
import { CHROMIUM_FLAGS, findChromium } from '../render/pdf.js';
import { readSpecSources } from '../spec-sources.js';
import { compile, STRICT } from './c-compiler.js';
import { version } from './spec-model.js';

const viommu = join(packageRoot, 'build', 'cli', 'viommu.js');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [viommu, ...args], { encoding: 'utf8', cwd: packageRoot });
const SPEC = join(packageRoot, 'spec-src');
const LAZY = '11-lazy-iotlb-flush.md';
const DRAFT_FILES = ['spec-src/10-probe-limits.md', `spec-src/${LAZY}`];

function build(drafts: boolean): SpecModel {
  const r = buildModel(readSpecSources(SPEC, packageRoot), version, { drafts });
  assert.deepEqual(messagesOf(r.files), []);
  assert.ok(r.model);
  return r.model;
}

describe('drafts', function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'viommu-drafts-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('are left out without --drafts: nothing of them in the model', () => {
    const model = build(false);
    assert.equal(model.drafts, undefined);
    const fromDrafts = (x: { source: { file: string } }) => DRAFT_FILES.includes(x.source.file);
    assert.deepEqual(model.statements.filter(fromDrafts), []);
    assert.deepEqual(model.structs.filter(fromDrafts), []);
    assert.deepEqual(model.constants.filter(fromDrafts), []);
    assert.ok(!model.constants.some((c) => c.name === 'VIRTIO_IOMMU_T_IOTLB_FLUSH'));
  });

  it('are marked with --drafts: both drafts, their statements, structs, constants and feature', () => {
    const model = build(true);
    assert.deepEqual(
      model.drafts?.map((d) => [d.name, d.feature, d.featureBit]),
      [
        ['probe-limits', 'VIRTIO_IOMMU_F_PROBE', 4],
        ['lazy-iotlb-flush', 'VIRTIO_IOMMU_F_LAZY_IOTLB_FLUSH', 7],
      ],
    );
    const draftOf = (id: string) => model.statements.find((s) => s.id === id)?.draft;
    assert.equal(draftOf('dev.probe-limits.page-size-nonzero'), 'probe-limits');
    assert.equal(draftOf('dev.iotlb-flush.reserved'), 'lazy-iotlb-flush');
    assert.equal(draftOf('dev.attach.reserved'), undefined);
    const struct = (n: string) => model.structs.find((s) => s.name === n);
    assert.equal(struct('virtio_iommu_probe_page_size_mask')?.draft, 'probe-limits');
    assert.equal(struct('virtio_iommu_req_iotlb_flush')?.draft, 'lazy-iotlb-flush');
    assert.equal(struct('virtio_iommu_req_iotlb_flush')?.size, 16);
    assert.equal(struct('virtio_iommu_req_attach')?.draft, undefined);
    const constant = (n: string) => model.constants.find((c) => c.name === n);
    assert.equal(constant('VIRTIO_IOMMU_ATTACH_F_LAZY')?.draft, 'lazy-iotlb-flush');
    assert.equal(constant('VIRTIO_IOMMU_ATTACH_F_BYPASS')?.draft, undefined);
    assert.equal(constant('VIRTIO_IOMMU_PROBE_T_PASID_TABLE_FMT')?.value, 7);
  });

  it('gen --drafts writes dist/drafts/ only; its header compiles with and without the drafts', () => {
    const gen = run('gen', '--drafts', '--out', tmp);
    assert.equal(gen.status, 0, gen.stderr);
    assert.ok(!existsSync(join(tmp, 'dist', 'spec.json')), 'dist/ itself is not written');
    const include = join(tmp, 'dist', 'drafts', 'include');
    const header = readFileSync(join(include, 'linux', 'virtio_iommu.h'), 'utf8');
    assert.match(
      header,
      /Draft lazy-iotlb-flush: proposed, not part of the spec[^]*?#ifdef VIRTIO_IOMMU_DRAFTS\nstruct virtio_iommu_req_iotlb_flush \{/,
    );
    const layoutTest = join(tmp, 'dist', 'drafts', 'test', 'virtio_iommu_layout.c');
    const user = join(tmp, 'user.c');
    writeFileSync(
      user,
      '#include <linux/virtio_iommu.h>\nint type = VIRTIO_IOMMU_T_IOTLB_FLUSH;\nint size = sizeof(struct virtio_iommu_req_iotlb_flush);\n',
    );
    for (const defines of [[], ['-DVIRTIO_IOMMU_DRAFTS']]) {
      const c = compile('gcc', [
        '-std=c11',
        ...STRICT,
        ...defines,
        '-fsyntax-only',
        '-I',
        include,
        layoutTest,
      ]);
      assert.equal(c.status, 0, c.stderr);
      const cxx = compile('g++', [
        '-x',
        'c++',
        ...STRICT,
        ...defines,
        '-fsyntax-only',
        '-I',
        include,
        user,
      ]);
      // A draft's names exist only for a compilation that asks for the drafts.
      if (defines.length) assert.equal(cxx.status, 0, cxx.stderr);
      else assert.match(cxx.stderr, /VIRTIO_IOMMU_T_IOTLB_FLUSH/);
    }
  });

  it('check keeps dist/drafts/ fresh', () => {
    assert.equal(run('gen', '--out', tmp).status, 0);
    assert.equal(run('gen', '--drafts', '--out', tmp).status, 0);
    assert.equal(run('check', '--out', tmp).status, 0);
    const header = join(tmp, 'dist', 'drafts', 'include', 'linux', 'virtio_iommu.h');
    writeFileSync(header, readFileSync(header, 'utf8').replace('#ifdef VIRTIO_IOMMU_DRAFTS', ''));
    const check = run('check', '--out', tmp);
    assert.equal(check.status, 1);
    assert.match(
      check.stderr,
      /viommu check: dist\/drafts\/include\/linux\/virtio_iommu\.h: differs from what spec-src gives/,
    );
  });

  it('a promotion (the status line deleted) shows in diff: added, or with --drafts, draft → spec', () => {
    cpSync(SPEC, join(tmp, 'before'), { recursive: true });
    cpSync(SPEC, join(tmp, 'after'), { recursive: true });
    const promoted = join(tmp, 'after', LAZY);
    const text = readFileSync(promoted, 'utf8');
    writeFileSync(promoted, text.replace(/^Status: draft .*\n/m, ''));
    assert.equal(text.split('\n').length - readFileSync(promoted, 'utf8').split('\n').length, 1);

    const plain = JSON.parse(run('diff', '--json', join(tmp, 'before'), join(tmp, 'after')).stdout);
    assert.deepEqual(
      plain.statements.map((s: { kind: string; id: string }) => `${s.kind} ${s.id}`).slice(0, 2),
      ['added drv.lazy.flush-before-reuse', 'added drv.lazy.flag-consistent'],
    );
    assert.equal(plain.statements.length, 8);
    assert.ok(
      plain.abi.some(
        (f: { kind: string; subject: string }) =>
          f.kind === 'extra' && f.subject === 'struct virtio_iommu_req_iotlb_flush',
      ),
    );
    const withDrafts = run('diff', '--drafts', join(tmp, 'before'), join(tmp, 'after'));
    assert.equal(withDrafts.status, 0, withDrafts.stderr);
    assert.match(withDrafts.stdout, /: 0 ABI changes, 8 statement changes\n/);
    assert.match(
      withDrafts.stdout,
      /promoted: dev\.iotlb-flush\.reserved \(MUST\): draft lazy-iotlb-flush → spec/,
    );
  });

  it('a promoted draft whose ID, constant or struct collides is reported at file:line:col, all at once, nothing written', () => {
    const spec = join(tmp, 'spec-src');
    cpSync(SPEC, spec, { recursive: true });
    const draft = join(spec, LAZY);
    writeFileSync(
      draft,
      readFileSync(draft, 'utf8')
        .replace(/^Status: draft .*\n/m, '')
        .replace('`dev.iotlb-flush.no-domain`', '`dev.attach.reserved`')
        .replace('#define VIRTIO_IOMMU_T_IOTLB_FLUSH    6', '#define VIRTIO_IOMMU_T_PROBE    6')
        .replace('struct virtio_iommu_req_iotlb_flush {', 'struct virtio_iommu_req_attach {'),
    );
    const out = join(tmp, 'out');
    const r = spawnSync(process.execPath, [viommu, 'gen', '--spec', spec, '--out', out], {
      encoding: 'utf8',
      cwd: tmp,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /spec-src\/11-lazy-iotlb-flush\.md\n/);
    assert.match(
      r.stderr,
      /\n\s*70:3\s+error Statement ID `dev\.attach\.reserved` is already used at spec-src\/05-attach-detach\.md:\d+/,
    );
    assert.match(
      r.stderr,
      /\n\s*20:1\s+error `VIRTIO_IOMMU_T_PROBE` is already defined at spec-src\/04-operations\.md:\d+/,
    );
    assert.match(r.stderr, /\n\s*24:\d+\s+error Struct `virtio_iommu_req_attach` is defined twice/);
    assert.ok(!existsSync(out), 'nothing written');
  });

  it('a status line that is not well formed is an error at its place', () => {
    const spec = join(tmp, 'spec-src');
    cpSync(SPEC, spec, { recursive: true });
    const draft = join(spec, LAZY);
    writeFileSync(
      draft,
      readFileSync(draft, 'utf8').replace('Status: draft (needs', 'Status: proposed (needs'),
    );
    const r = spawnSync(
      process.execPath,
      [viommu, 'build', '--spec', spec, '--out', join(tmp, 'out')],
      {
        encoding: 'utf8',
        cwd: tmp,
      },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\n\s*3:1\s+error A status line reads `Status: draft \(needs/);
  });

  it('render --drafts gives draft statements and blocks a visible badge (in a real browser)', async () => {
    const executablePath = findChromium();
    assert.ok(executablePath, 'Chromium is not on PATH; apt-get install chromium');
    const r = run('render', '--drafts', '--no-pdf', '--out', tmp);
    assert.equal(r.status, 0, r.stderr);
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      chromiumSandbox: false,
      args: CHROMIUM_FLAGS,
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${pathToFileURL(join(tmp, 'spec.html')).href}#dev.iotlb-flush.reserved`);
      const item = page.locator('li[id="dev.iotlb-flush.reserved"]');
      const badge = item.locator('.draft-badge');
      assert.equal(await badge.textContent(), 'draft lazy-iotlb-flush');
      assert.ok(await badge.isVisible());
      assert.equal(
        await page.evaluate(
          `getComputedStyle(document.querySelector('li[id="dev.iotlb-flush.reserved"] .draft-badge .draft')).backgroundColor`,
        ),
        'rgb(15, 110, 122)',
        'the stylesheet gives the draft badge its colour',
      );
      assert.equal(await page.locator('li[id="dev.attach.reserved"] .draft-badge').count(), 0);
      const block = page.locator('.c-block.draft', { hasText: 'virtio_iommu_req_iotlb_flush {' });
      assert.equal(await block.locator('.draft-badge').textContent(), 'draft lazy-iotlb-flush');
      await page.screenshot({ path: join(tmp, 'draft.png') });
    } finally {
      await browser.close();
    }
    const plain = run('render', '--no-pdf', '--out', join(tmp, 'plain'));
    assert.equal(plain.status, 0, plain.stderr);
    // The stylesheet names .draft-badge; no element carries it.
    assert.ok(
      !readFileSync(join(tmp, 'plain', 'spec.html'), 'utf8').includes('class="badge draft-badge"'),
    );
  });

  it('conform --drafts judges draft statements only where the device offers the feature; without it, no rows', () => {
    const verdicts = (...args: string[]) => {
      const reports = join(tmp, args.join('_').replace(/[^a-z-]/g, ''));
      const r = run(
        'conform',
        '--target',
        'ref',
        '--no-probes',
        '--judge-window',
        'near',
        '--reports',
        reports,
        ...args,
      );
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(readFileSync(join(reports, 'ref.json'), 'utf8')) as {
        verdicts: { statement: string; verdict: string; reason?: string }[];
      };
      return report.verdicts;
    };
    // device-ref does not offer VIRTIO_IOMMU_F_LAZY_IOTLB_FLUSH: every statement of that draft is not applicable.
    const lazy = verdicts('--drafts', '--only', 'dev.iotlb-flush');
    assert.deepEqual(
      lazy.map((v) => `${v.statement} ${v.verdict}`),
      [
        'dev.iotlb-flush.complete not-applicable',
        'dev.iotlb-flush.reserved not-applicable',
        'dev.iotlb-flush.no-domain not-applicable',
      ],
    );
    assert.match(lazy[0].reason ?? '', /VIRTIO_IOMMU_F_LAZY_IOTLB_FLUSH is not offered/);
    // It offers VIRTIO_IOMMU_F_PROBE, so the probe-limits statements apply; its PROBE replies
    // carry none of the draft's properties, so there is nothing to judge them on.
    const limits = verdicts('--drafts', '--only', 'dev.probe-limits');
    assert.deepEqual(
      limits.map((v) => `${v.statement} ${v.verdict}`),
      [
        'dev.probe-limits.page-size-nonzero not-applicable',
        'dev.probe-limits.page-size-subset not-applicable',
        'dev.probe-limits.input-range-order not-applicable',
        'dev.probe-limits.reserved not-applicable',
      ],
    );
    assert.match(limits[0].reason ?? '', /no endpoint reports a PAGE_SIZE_MASK property in PROBE/);
    assert.deepEqual(verdicts('--only', 'dev.iotlb-flush'), []);
  });

  it('conform --drafts on a board offering both drafts judges their statements with requests and DMA: pass', () => {
    const board = JSON.parse(
      readFileSync(join(packageRoot, 'device-ref', 'boards', 'q35.json'), 'utf8'),
    ) as { $schema?: string; name: string; iommu: { drafts?: string[] } };
    delete board.$schema;
    board.name = 'q35-lazy';
    board.iommu.drafts = ['lazy-iotlb-flush', 'probe-limits'];
    const file = join(tmp, 'q35-lazy.json');
    writeFileSync(file, JSON.stringify(board));
    const verdicts = (only: string) => {
      const reports = join(tmp, only);
      const r = run(
        'conform',
        '--target',
        'ref',
        '--board',
        file,
        '--no-probes',
        '--judge-window',
        'near',
        '--drafts',
        '--only',
        only,
        '--reports',
        reports,
      );
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(readFileSync(join(reports, 'ref.json'), 'utf8')) as {
        verdicts: { statement: string; verdict: string }[];
      };
      return report.verdicts.map((v) => `${v.statement} ${v.verdict}`);
    };
    assert.deepEqual(verdicts('dev.lazy'), [
      'dev.lazy.unmap-stale pass',
      'dev.lazy.flag-mismatch pass',
    ]);
    assert.deepEqual(verdicts('dev.iotlb-flush'), [
      'dev.iotlb-flush.complete pass',
      'dev.iotlb-flush.reserved pass',
      'dev.iotlb-flush.no-domain pass',
    ]);
    assert.deepEqual(verdicts('dev.probe-limits'), [
      'dev.probe-limits.page-size-nonzero pass',
      'dev.probe-limits.page-size-subset pass',
      'dev.probe-limits.input-range-order pass',
      'dev.probe-limits.reserved pass',
    ]);
    // The spec's PROBE statements still hold with the draft's properties in the replies.
    assert.deepEqual(verdicts('dev.probe.next-offset').concat(verdicts('dev.probe.zero-fill')), [
      'dev.probe.next-offset pass',
      'dev.probe.zero-fill pass',
    ]);
  });
});
