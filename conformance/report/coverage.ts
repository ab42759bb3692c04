// Coverage: for every statement, the tests that check it (its scenarios and the suite's tagged
// tests) and its verdict on each target; for every requirement section and in total, how many
// statements there are, how many have a test and how many pass on each target.

import type { Role, Statement } from '../../dist/ts/schemas/cases.js';
import type {
  ConformanceReport,
  StatementVerdict,
} from '../../dist/ts/schemas/conformance-report.js';
import { assertDistinctTargets } from './read.js';
import type { TaggedTest } from './test-tags.js';

/** What coverage and the matrix read of the spec model (dist/spec.json). */
export interface SpecStatements {
  title: string;
  version: string;
  sections: { slug: string; title: string }[];
  statements: Statement[];
  retiredIds: string[];
}

export type TestRef =
  { kind: 'scenario'; id: string } | { kind: 'suite'; name: string; file: string; line: number };

export interface StatementCoverage {
  statement: Statement;
  tests: TestRef[];
  /** Target name → verdict; a target whose report has no verdict for the statement is absent. */
  verdicts: Map<string, StatementVerdict>;
}

export interface TargetTally {
  pass: number;
  fail: number;
  notApplicable: number;
  untested: number;
  /** Statements the suite could not judge because it failed itself. */
  error: number;
  /** Statements the target's report gives no verdict for. */
  missing: number;
}

export interface CoverageCounts {
  statements: number;
  /** Statements with at least one test. */
  tested: number;
  /** Target name → tally of verdicts. */
  targets: Map<string, TargetTally>;
}

export interface SectionCoverage {
  slug: string;
  title: string;
  role: Role;
  counts: CoverageCounts;
}

export interface Coverage {
  /** Target names, in the order the reports were given. */
  targets: string[];
  statements: Map<string, StatementCoverage>;
  /** Sections that hold statements, in document order. */
  sections: SectionCoverage[];
  byRole: Record<Role, CoverageCounts>;
  total: CoverageCounts;
  /** Tags and verdicts that name no statement of the spec. */
  warnings: string[];
}

function emptyCounts(targets: string[]): CoverageCounts {
  return {
    statements: 0,
    tested: 0,
    targets: new Map(
      targets.map((t) => [
        t,
        { pass: 0, fail: 0, notApplicable: 0, untested: 0, error: 0, missing: 0 },
      ]),
    ),
  };
}

function count(counts: CoverageCounts, sc: StatementCoverage): void {
  counts.statements++;
  if (sc.tests.length) counts.tested++;
  for (const [target, tally] of counts.targets) {
    const v = sc.verdicts.get(target)?.verdict;
    if (v === 'pass') tally.pass++;
    else if (v === 'fail') tally.fail++;
    else if (v === 'not-applicable') tally.notApplicable++;
    else if (v === 'untested') tally.untested++;
    else if (v === 'error') tally.error++;
    else tally.missing++;
  }
}

export function computeCoverage(
  model: SpecStatements,
  tests: TaggedTest[],
  reports: ConformanceReport[],
): Coverage {
  assertDistinctTargets(reports);
  const targets = reports.map((r) => r.target.name);
  const warnings: string[] = [];
  const statements = new Map<string, StatementCoverage>();
  for (const s of model.statements) {
    statements.set(s.id, {
      statement: s,
      tests: s.scenarios.map((sc) => ({ kind: 'scenario', id: sc.id })),
      verdicts: new Map(),
    });
  }
  const retired = new Set(model.retiredIds);
  for (const t of tests) {
    for (const id of t.statements) {
      const sc = statements.get(id);
      if (sc) sc.tests.push({ kind: 'suite', name: t.name, file: t.file, line: t.line });
      else {
        const why = retired.has(id) ? 'a retired statement' : 'not a statement of the spec';
        warnings.push(`${t.file}:${t.line}: test "${t.name}" is tagged [${id}], ${why}`);
      }
    }
  }
  for (const r of reports) {
    for (const v of r.verdicts) {
      const sc = statements.get(v.statement);
      if (sc) sc.verdicts.set(r.target.name, v);
      else
        warnings.push(
          `report for ${r.target.name}: verdict on ${v.statement}, which is not a statement of the spec`,
        );
    }
  }

  const titles = new Map(model.sections.map((s) => [s.slug, s.title]));
  const sections = new Map<string, SectionCoverage>();
  const byRole: Record<Role, CoverageCounts> = {
    device: emptyCounts(targets),
    driver: emptyCounts(targets),
  };
  const total = emptyCounts(targets);
  for (const sc of statements.values()) {
    const { section, role } = sc.statement;
    let entry = sections.get(section);
    if (!entry) {
      entry = {
        slug: section,
        title: titles.get(section) ?? section,
        role,
        counts: emptyCounts(targets),
      };
      sections.set(section, entry);
    }
    count(entry.counts, sc);
    count(byRole[role], sc);
    count(total, sc);
  }
  return { targets, statements, sections: [...sections.values()], byRole, total, warnings };
}
