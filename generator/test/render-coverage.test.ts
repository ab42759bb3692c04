// Coverage: tags read from the suite's source, scenarios from the spec, verdicts from reports.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { computeCoverage } from '../../conformance/report/coverage.js';
import { readTestTags, scanTestTags } from '../../conformance/report/test-tags.js';
import { packageRoot } from '../paths.js';
import { FIXTURE, fixtureReports, fixtureSpec, fixtureTags } from './render-fixture.js';

describe('render: test tags', () => {
  it('reads every tag of it/describe titles, in any quotes, with their lines', () => {
    const source = [
      "describe('[dev.a.b] group', () => {",
      '  it("[dev.a.b] [drv.c.d-e] says \\"no\\"", () => {});',
      '  it.skip(`[dev.f.g] later`, () => {});',
      "  it('plain', () => {});",
      "  context('[dev.h.i] text [not.a.tag] and [dev.j.k]', () => {});",
      '});',
    ].join('\n');
    assert.deepEqual(scanTestTags(source, 'suite/x.ts'), [
      {
        title: '[dev.a.b] group',
        name: 'group',
        statements: ['dev.a.b'],
        file: 'suite/x.ts',
        line: 1,
      },
      {
        title: '[dev.a.b] [drv.c.d-e] says "no"',
        name: 'says "no"',
        statements: ['dev.a.b', 'drv.c.d-e'],
        file: 'suite/x.ts',
        line: 2,
      },
      {
        title: '[dev.f.g] later',
        name: 'later',
        statements: ['dev.f.g'],
        file: 'suite/x.ts',
        line: 3,
      },
      {
        title: '[dev.h.i] text [not.a.tag] and [dev.j.k]',
        name: 'text [not.a.tag] and',
        statements: ['dev.h.i', 'dev.j.k'],
        file: 'suite/x.ts',
        line: 5,
      },
    ]);
  });

  it('ignores tags in comments, not `//` in strings or quotes in regular expressions', () => {
    const source = [
      "/** Collects tests: `s.it('[dev.x] does y', …)`.",
      " * it('[dev.in.block] no') */",
      "// it('[dev.in.line] no')",
      "const quote = /'/g; const ratio = 1 / 2; // it('[dev.after.division] no')",
      "tests.it('[dev.a.b] see http://example.org', () => {}); // [dev.c.d]",
      "it(`[dev.e.f] a template`, () => quote.test('/*'));",
      "it('[dev.g.h] still found', () => {});",
    ].join('\n');
    assert.deepEqual(
      scanTestTags(source, 'x.ts').map((t) => [t.line, t.statements]),
      [
        [5, ['dev.a.b']],
        [6, ['dev.e.f']],
        [7, ['dev.g.h']],
      ],
    );
  });

  it('walks a suite folder, nested files included, with paths relative to the base', () => {
    const tags = fixtureTags();
    assert.deepEqual(
      tags.map((t) => [t.file, t.line, t.statements]),
      [
        ['generator/test/fixtures/render/suite/attach.ts', 4, ['dev.attach.reserved']],
        [
          'generator/test/fixtures/render/suite/attach.ts',
          5,
          ['dev.attach.noent', 'dev.attach.reserved'],
        ],
        ['generator/test/fixtures/render/suite/attach.ts', 6, ['dev.attach.gone']],
        ['generator/test/fixtures/render/suite/requests/probe.ts', 3, ['dev.probe.fill']],
      ],
    );
  });

  it('finds nothing when there is no suite yet', () => {
    assert.deepEqual(readTestTags(join(FIXTURE, 'no-such-suite'), packageRoot), []);
  });
});

describe('render: coverage', () => {
  it('lists the scenarios and the tagged tests of each statement', () => {
    const { model } = fixtureSpec();
    const coverage = computeCoverage(model, fixtureTags(), []);
    const tests = (id: string) => coverage.statements.get(id)?.tests;
    assert.deepEqual(tests('dev.attach.reserved'), [
      { kind: 'scenario', id: 'dev.attach.reserved#1' },
      {
        kind: 'suite',
        name: 'a non-zero reserved field is refused',
        file: 'generator/test/fixtures/render/suite/attach.ts',
        line: 4,
      },
      {
        kind: 'suite',
        name: 'an unknown endpoint is refused, reserved or not',
        file: 'generator/test/fixtures/render/suite/attach.ts',
        line: 5,
      },
    ]);
    assert.deepEqual(tests('dev.attach.ok'), [
      { kind: 'scenario', id: 'dev.attach.ok#1' },
      { kind: 'scenario', id: 'dev.attach.ok#2' },
    ]);
    assert.deepEqual(tests('drv.attach.reserved'), []);
  });

  it('counts statements, tested statements and verdicts per section, per role and in total', () => {
    const { model } = fixtureSpec();
    const coverage = computeCoverage(model, fixtureTags(), fixtureReports());
    assert.deepEqual(coverage.targets, ['ref', 'qemu']);
    assert.deepEqual(
      coverage.sections.map((s) => [s.slug, s.role, s.counts.statements, s.counts.tested]),
      [
        ['device-requirements-attach-request', 'device', 3, 3],
        ['device-definitions-attach-request', 'device', 1, 0],
        ['driver-requirements-attach-request', 'driver', 1, 0],
        ['device-requirements-probe-request', 'device', 1, 1],
      ],
    );
    assert.deepEqual(Object.fromEntries(coverage.total.targets), {
      ref: { pass: 3, fail: 0, notApplicable: 1, untested: 0, error: 0, missing: 2 },
      qemu: { pass: 1, fail: 1, notApplicable: 0, untested: 1, error: 0, missing: 3 },
    });
    assert.equal(coverage.byRole.device.tested, 4);
    assert.equal(coverage.byRole.driver.statements, 1);
    assert.equal(coverage.total.statements, 6);
    assert.equal(
      coverage.statements.get('dev.attach.reserved')?.verdicts.get('qemu')?.verdict,
      'fail',
    );
  });

  it('without a suite or reports, scenarios alone make coverage', () => {
    const { model } = fixtureSpec();
    const coverage = computeCoverage(model, [], []);
    assert.equal(coverage.total.tested, 2);
    assert.deepEqual(coverage.targets, []);
    assert.deepEqual(coverage.warnings, []);
  });

  it('warns about tags and verdicts that name no statement of the spec', () => {
    const { model } = fixtureSpec();
    const [ref] = fixtureReports();
    ref.verdicts.push({
      statement: 'dev.attach.renamed',
      level: 'MUST',
      verdict: 'pass',
      tests: [],
    });
    const coverage = computeCoverage({ ...model, retiredIds: ['dev.attach.gone'] }, fixtureTags(), [
      ref,
    ]);
    assert.deepEqual(coverage.warnings, [
      'generator/test/fixtures/render/suite/attach.ts:6: test "a test of a statement that no longer exists" is tagged [dev.attach.gone], a retired statement',
      'report for ref: verdict on dev.attach.renamed, which is not a statement of the spec',
    ]);
  });

  it('refuses two reports for one target', () => {
    const { model } = fixtureSpec();
    const [ref] = fixtureReports();
    assert.throws(() => computeCoverage(model, [], [ref, ref]), /Two reports are for target "ref"/);
  });
});
