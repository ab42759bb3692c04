// The conformance matrix page: one row per statement, one column per target, each cell a
// verdict with its reason and the tests behind it. The rows and the report checks are the
// reports' own (conformance/report/); this draws them. The conformance runner calls
// renderMatrix with its reports; `viommu render --results` writes it beside the spec document,
// which it links to.

import type { Element, Root as HastRoot } from 'hast';
import rehypeStringify from 'rehype-stringify';
import { unified } from 'unified';
import type { SpecStatements } from '../../conformance/report/coverage.js';
import { matrixRows } from '../../conformance/report/matrix.js';
import { assertDistinctTargets } from '../../conformance/report/read.js';
import type {
  ConformanceReport,
  RobustnessOutcome,
  StatementVerdict,
  TestResult,
} from '../../dist/ts/schemas/conformance-report.js';
import { hrefTo, statementAnchor } from './anchors.js';
import { statementBadge, verdictClass } from './badges.js';
import { htmlPage } from './document.js';
import { h, type Child } from './hast.js';

export interface MatrixOptions {
  /** The spec: rows follow its order and sections, and it has every device statement a row. */
  model?: SpecStatements;
  /** The spec document that statement IDs link to (default `spec.html`). */
  specHref?: string;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

function testLine(t: TestResult): Element {
  const evidence = Object.entries(t.evidence ?? {}).map(([key, value]) => `${key}: ${value}`);
  return h(
    'li',
    { className: [`outcome-${t.outcome}`] },
    h('span', {}, t.title),
    ` — ${t.outcome}, ${t.durationMs} ms`,
    evidence.length > 0 && h('pre', {}, evidence.join('\n')),
  );
}

function cell(v: StatementVerdict | undefined, target: string): Element {
  return h(
    'td',
    { className: ['cell'], dataTarget: target },
    h('span', { className: ['verdict', verdictClass(v?.verdict)] }, v?.verdict ?? 'no verdict'),
    v?.option !== undefined && h('span', { className: ['option'] }, `option ${v.option}`),
    v?.reason && h('span', { className: ['reason'] }, v.reason),
    v !== undefined &&
      v.tests.length > 0 &&
      h(
        'details',
        {
          className: ['evidence'],
          open: v.verdict === 'fail' || v.verdict === 'error' ? true : undefined,
        },
        h('summary', {}, v.tests.length === 1 ? '1 test' : `${v.tests.length} tests`),
        h('ul', {}, v.tests.map(testLine)),
      ),
  );
}

function summaryTable(reports: ConformanceReport[]): Element {
  const head = [
    'Target',
    'Description',
    'Tool',
    'Started',
    'Duration',
    'pass',
    'fail',
    'n/a',
    'untested',
    'error',
    'MUST failures',
    'DEFINED failures',
    'SHOULD deviations',
    'robustness findings',
  ];
  return h(
    'table',
    { className: ['matrix-summary'] },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((t) => h('th', {}, t)),
      ),
    ),
    h(
      'tbody',
      {},
      reports.map((r) => {
        const s = r.summary;
        return h(
          'tr',
          { dataTarget: r.target.name },
          h('th', { scope: 'row' }, r.target.name),
          h('td', { className: ['text'] }, r.target.description),
          h('td', { className: ['text'] }, `${r.tool.name} ${r.tool.version}`),
          h('td', { className: ['text'] }, r.startedAt),
          h('td', {}, seconds(r.durationMs)),
          [
            s.pass,
            s.fail,
            s.notApplicable,
            s.untested,
            s.error,
            s.mustFailures,
            s.definedFailures,
            s.shouldDeviations,
            s.robustnessFindings,
          ].map((n) => h('td', {}, n)),
        );
      }),
    ),
  );
}

/** The class of a robustness outcome: a finding is a failure, a probe that did not run an error. */
const probeClass = (outcome: RobustnessOutcome): string =>
  outcome === 'ok' ? 'verdict-pass' : outcome === 'error' ? 'verdict-error' : 'verdict-fail';

/** Runs that stopped before every test ran, and why. */
function stoppedRuns(reports: ConformanceReport[]): Child {
  const stopped = reports.filter((r) => r.stopped !== undefined);
  if (stopped.length === 0) return undefined;
  return h(
    'ul',
    { className: ['stopped'] },
    stopped.map((r) =>
      h(
        'li',
        { dataTarget: r.target.name },
        `${r.target.name}: the run stopped early: ${r.stopped}`,
      ),
    ),
  );
}

function robustnessTable(reports: ConformanceReport[]): Child {
  const rows = reports.flatMap((r) =>
    (r.robustness ?? []).map((p) =>
      h(
        'tr',
        { dataTarget: r.target.name },
        h('td', {}, r.target.name),
        h('td', {}, p.probe),
        h('td', {}, h('span', { className: ['verdict', probeClass(p.outcome)] }, p.outcome)),
        h('td', {}, seconds(p.durationMs)),
        h('td', {}, p.message),
      ),
    ),
  );
  if (!rows.length) return undefined;
  return [
    h('h2', { id: 'robustness' }, 'Robustness'),
    h(
      'p',
      {},
      'Probes that break a driver rule, for every request type. The spec puts no duty on the device there, but it must not crash, hang, or let one domain reach memory it must not: each such finding is a guest-triggerable denial of service (or worse) and fails the run.',
    ),
    h(
      'table',
      { className: ['robustness'] },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Target', 'Probe', 'Outcome', 'Duration', 'Message'].map((t) => h('th', {}, t)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  ];
}

/** The matrix as a hast tree. */
export function matrixTree(reports: ConformanceReport[], options: MatrixOptions = {}): HastRoot {
  assertDistinctTargets(reports);
  const { model, specHref = 'spec.html' } = options;
  const targets = reports.map((r) => r.target.name);
  const verdicts = new Map(
    reports.map((r) => [r.target.name, new Map(r.verdicts.map((v) => [v.statement, v]))]),
  );
  const groups = matrixRows(reports, model);
  const body = groups.flatMap((g) => [
    g.title !== undefined &&
      h(
        'tr',
        {},
        h(
          'th',
          { colSpan: 2 + targets.length, className: ['section'] },
          g.slug ? h('a', { href: hrefTo(g.slug, specHref) }, g.title) : g.title,
        ),
      ),
    g.rows.map((row) =>
      h(
        'tr',
        { id: statementAnchor(row.id) },
        h(
          'th',
          { scope: 'row' },
          h('a', { href: hrefTo(statementAnchor(row.id), specHref) }, h('code', {}, row.id)),
        ),
        h('td', {}, statementBadge(row.role, row.level)),
        targets.map((t) => cell(verdicts.get(t)?.get(row.id), t)),
      ),
    ),
  ]);
  const title = model ? `Conformance of ${model.title}` : 'Conformance matrix';
  return htmlPage({
    title,
    subtitle: model ? `spec version ${model.version}` : `targets: ${targets.join(', ')}`,
    links: [{ href: specHref, text: 'Specification' }],
    targets,
    main: [
      h('h1', {}, title),
      summaryTable(reports),
      stoppedRuns(reports),
      h(
        'table',
        { className: ['matrix'] },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Statement'),
            h('th', {}, 'Level'),
            targets.map((t) => h('th', { dataTarget: t }, t)),
          ),
        ),
        h('tbody', {}, body),
      ),
      robustnessTable(reports),
    ],
  });
}

/** The matrix as one self-contained HTML file. */
export function renderMatrix(reports: ConformanceReport[], options: MatrixOptions = {}): string {
  return unified().use(rehypeStringify).stringify(matrixTree(reports, options));
}
