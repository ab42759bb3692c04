// Coverage in the spec document: under each statement, its tests and its verdict per target;
// at the end, the summary table per section and in total.

import type { Element } from 'hast';
import { COVERAGE_ANCHOR, hrefTo, scenarioAnchor, statementAnchor } from './anchors.js';
import { verdictClass } from './badges.js';
import type {
  Coverage,
  CoverageCounts,
  StatementCoverage,
  TestRef,
} from '../../conformance/report/coverage.js';
import { h, type Child } from './hast.js';

function testItem(test: TestRef): Element {
  if (test.kind === 'scenario') {
    return h(
      'li',
      { className: ['scenario'] },
      h('a', { href: hrefTo(scenarioAnchor(test.id)) }, `example ${test.id.split('#')[1]}`),
    );
  }
  return h(
    'li',
    { className: ['suite'] },
    h('span', { className: ['test-name'] }, test.name),
    ' ',
    h('span', { className: ['test-file'] }, `${test.file}:${test.line}`),
  );
}

/** The line under a statement: what tests it, and how each target fared. */
export function statementCoverage(
  sc: StatementCoverage,
  targets: string[],
  matrixHref?: string,
): Element {
  const id = sc.statement.id;
  const verdicts = targets.map((target) => {
    const v = sc.verdicts.get(target);
    const properties = {
      className: ['verdict', verdictClass(v?.verdict)],
      dataTarget: target,
      title: v ? v.reason : `no verdict in the report for ${target}`,
    };
    const label = `${target}: ${v?.verdict ?? 'no verdict'}`;
    // The matrix has a row for every statement that a report judged.
    return matrixHref && v
      ? h('a', { ...properties, href: hrefTo(statementAnchor(id), matrixHref) }, label)
      : h('span', properties, label);
  });
  return h(
    'div',
    { className: ['coverage-of'] },
    h(
      'span',
      {},
      'Tested by: ',
      sc.tests.length
        ? h('ul', { className: ['tests'] }, sc.tests.map(testItem))
        : h('span', { className: ['no-test'] }, 'no test yet'),
    ),
    verdicts.length > 0 && h('span', { className: ['verdicts'] }, verdicts),
  );
}

function countCells(counts: CoverageCounts, targets: string[]): Child[] {
  const percent = counts.statements ? Math.round((100 * counts.tested) / counts.statements) : 0;
  return [
    h('td', {}, counts.statements),
    h('td', {}, counts.tested, h('small', {}, `${percent}%`)),
    targets.flatMap((t) => {
      const tally = counts.targets.get(t);
      return [
        h('td', { dataTarget: t }, tally?.pass ?? 0),
        h('td', { dataTarget: t }, tally?.fail ?? 0),
      ];
    }),
  ];
}

/** The summary section: per requirement section and in total, statements, tested, pass/fail per target. */
export function coverageSummary(coverage: Coverage, matrixHref?: string): Element {
  const { targets } = coverage;
  const span = targets.length ? 2 : 1;
  const row = (label: Child, counts: CoverageCounts): Element =>
    h('tr', {}, h('th', { scope: 'row' }, label), countCells(counts, targets));
  return h(
    'section',
    { id: COVERAGE_ANCHOR, className: ['coverage'] },
    h('h2', {}, 'Coverage'),
    h(
      'p',
      {},
      'For each section of requirements: how many statements it holds, how many have at least one test ',
      '(a scenario of the spec or a test of the conformance suite tagged with the statement ID)',
      targets.length ? ', and how many pass and fail on each target' : '',
      targets.length && matrixHref
        ? ['; the ', h('a', { href: matrixHref }, 'conformance matrix'), ' has the details']
        : '',
      '.',
    ),
    h(
      'table',
      { className: ['coverage-summary'] },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { rowSpan: span }, 'Section'),
          h('th', { rowSpan: span }, 'Statements'),
          h('th', { rowSpan: span }, 'With tests'),
          targets.map((t) => h('th', { colSpan: 2, dataTarget: t }, t)),
        ),
        targets.length > 0 &&
          h(
            'tr',
            {},
            targets.flatMap((t) => [
              h('th', { dataTarget: t }, 'pass'),
              h('th', { dataTarget: t }, 'fail'),
            ]),
          ),
      ),
      h(
        'tbody',
        {},
        coverage.sections.map((s) => row(h('a', { href: hrefTo(s.slug) }, s.title), s.counts)),
      ),
      h(
        'tfoot',
        {},
        row('Device statements', coverage.byRole.device),
        row('Driver statements', coverage.byRole.driver),
        row('All statements', coverage.total),
      ),
    ),
  );
}
