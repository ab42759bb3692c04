// `viommu diff A B`: what changed from one spec model to another. The ABI part is drift's
// comparison (drift/compare.ts) with A as "the spec" and B's C view as "the header", so the
// findings have drift's types: `missing` is removed in B, `extra` added in B, and `value`,
// `type`, `layout` and `rename` mean the same. Statements are compared by ID: added,
// removed, level changed, text changed, and the one error: an ID that changed meaning.

import { compareHeader, type Finding, type FindingKind } from '../drift/compare.js';
import { viewAsHeader } from '../drift/view-as-header.js';
import { cView } from '../emit/c-view.js';
import type { Level, SourcePlace, SpecModel, Statement } from '../model.js';

export type StatementChangeKind = 'added' | 'removed' | 'level' | 'text' | 'promoted' | 'meaning';

export interface StatementChange {
  kind: StatementChangeKind;
  id: string;
  message: string;
  /** Where A has it (removed, changed) and where B has it (added, changed). */
  before?: SourcePlace;
  after?: SourcePlace;
  beforeLevel?: Level;
  afterLevel?: Level;
}

export interface SpecDiff {
  from: string;
  to: string;
  abi: Finding[];
  statements: StatementChange[];
  /** Statement IDs that changed meaning: IDs never do, so each is an error. */
  errors: number;
}

const ABI_WORDS: Record<FindingKind, string> = {
  missing: 'removed',
  extra: 'added',
  value: 'value changed',
  type: 'type changed',
  layout: 'layout changed',
  rename: 'renamed',
};

/** One line about an ABI finding, in the words of a change from A to B. */
export function abiChangeText(f: Finding): string {
  switch (f.kind) {
    case 'missing':
      return `${f.subject}${f.expected ? ` (${f.expected})` : ''}`;
    case 'extra':
      return `${f.subject}${f.actual ? ` (${f.actual})` : ''}`;
    case 'rename':
      return `${f.subject} → ${f.headerName ?? f.actual ?? ''}`;
    default:
      return `${f.subject}: ${f.expected ?? ''} → ${f.actual ?? ''}`;
  }
}

export const abiKindWords = (k: FindingKind): string => ABI_WORDS[k];

const words = (text: string) => text.replace(/\s+/g, ' ').trim();

function compareStatements(a: SpecModel, b: SpecModel): StatementChange[] {
  const out: StatementChange[] = [];
  const inB = new Map(b.statements.map((s) => [s.id, s]));
  const inA = new Map(a.statements.map((s) => [s.id, s]));
  const retiredInA = new Set(a.retiredIds);
  for (const s of a.statements) {
    const t = inB.get(s.id);
    if (!t) {
      out.push({
        kind: 'removed',
        id: s.id,
        message: `${s.id} (${s.level})${b.retiredIds.includes(s.id) ? ', its ID retired' : ''}`,
        before: s.source,
        beforeLevel: s.level,
      });
      continue;
    }
    // With drafts built in (`--drafts`), a draft's statement that became the spec's.
    if (s.draft !== undefined && t.draft === undefined) {
      out.push({
        kind: 'promoted',
        id: s.id,
        message: `${s.id} (${t.level}): draft ${s.draft} → spec`,
        before: s.source,
        after: t.source,
      });
    }
    if (t.level !== s.level) {
      out.push({
        kind: 'level',
        id: s.id,
        message: `${s.id}: ${s.level} → ${t.level}`,
        before: s.source,
        after: t.source,
        beforeLevel: s.level,
        afterLevel: t.level,
      });
    }
    if (words(t.text) !== words(s.text)) {
      out.push({
        kind: 'text',
        id: s.id,
        message: `${s.id}: text changed`,
        before: s.source,
        after: t.source,
      });
    }
  }
  for (const t of b.statements) {
    if (inA.has(t.id)) continue;
    if (retiredInA.has(t.id)) {
      out.push(meaning(t, 'it was retired and is used again'));
      continue;
    }
    out.push({
      kind: 'added',
      id: t.id,
      message: `${t.id} (${t.level})`,
      after: t.source,
      afterLevel: t.level,
    });
  }
  return out;
}

function meaning(t: Statement, why: string): StatementChange {
  return {
    kind: 'meaning',
    id: t.id,
    message: `${t.id} changed meaning (${why}); an ID never changes meaning: give the statement a new ID`,
    after: t.source,
  };
}

export function diffModels(a: SpecModel, b: SpecModel, from: string, to: string): SpecDiff {
  const { header, measurements } = viewAsHeader(cView(b), to);
  const abi = compareHeader(cView(a), header, measurements);
  const statements = compareStatements(a, b);
  return {
    from,
    to,
    abi,
    statements,
    errors: statements.filter((s) => s.kind === 'meaning').length,
  };
}

export function formatDiffText(d: SpecDiff): string {
  const at = (p?: SourcePlace) => (p ? ` [${p.file}:${p.line}]` : '');
  const out = [
    `viommu diff ${d.from} ${d.to}: ${d.abi.length} ABI changes, ${d.statements.length} statement changes`,
  ];
  if (d.abi.length) out.push('ABI:');
  for (const f of d.abi) {
    const place = f.kind === 'missing' ? f.spec : (f.header ?? f.spec);
    out.push(
      `  ${ABI_WORDS[f.kind]}: ${abiChangeText(f)}${place ? ` [${place.file}:${place.line}]` : ''}`,
    );
  }
  if (d.statements.length) out.push('Statements:');
  for (const s of d.statements) {
    out.push(
      `  ${s.kind === 'meaning' ? 'error' : s.kind}: ${s.message}${at(s.after ?? s.before)}`,
    );
  }
  if (d.errors) out.push(`${d.errors} statement ID${d.errors === 1 ? '' : 's'} changed meaning`);
  return `${out.join('\n')}\n`;
}

export function formatDiffJson(d: SpecDiff): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
