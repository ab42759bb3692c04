// The rows of the conformance matrix: one per statement that a report judged or that the spec
// gives the device, grouped by the spec's sections in its order. generator/render/matrix.ts
// draws them as the HTML page.

import type { Level, Role } from '../../dist/ts/schemas/cases.js';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import type { SpecStatements } from './coverage.js';

export interface MatrixRow {
  id: string;
  role: Role;
  level: Level;
}

export interface MatrixRowGroup {
  /** The section's title; absent when the rows come without a spec. */
  title?: string;
  slug?: string;
  rows: MatrixRow[];
}

/** The role of a statement by its ID's prefix. */
export const roleOfId = (id: string): Role => (id.startsWith('drv.') ? 'driver' : 'device');

/**
 * The matrix rows. Without the spec, one group of the judged statements; with it, the spec's
 * sections (every device statement, and the driver statements a report judged), then the
 * judged statements the spec does not have.
 */
export function matrixRows(
  reports: ConformanceReport[],
  model: SpecStatements | undefined,
): MatrixRowGroup[] {
  const judged = new Map<string, MatrixRow>();
  for (const r of reports) {
    for (const v of r.verdicts) {
      if (!judged.has(v.statement))
        judged.set(v.statement, { id: v.statement, role: roleOfId(v.statement), level: v.level });
    }
  }
  if (!model) return [{ rows: [...judged.values()] }];
  const groups = new Map<string, MatrixRowGroup>();
  const titles = new Map(model.sections.map((s) => [s.slug, s.title]));
  for (const s of model.statements) {
    if (s.role !== 'device' && !judged.has(s.id)) continue;
    let group = groups.get(s.section);
    if (!group) {
      group = { title: titles.get(s.section) ?? s.section, slug: s.section, rows: [] };
      groups.set(s.section, group);
    }
    group.rows.push({ id: s.id, role: s.role, level: s.level });
    judged.delete(s.id);
  }
  const out = [...groups.values()];
  if (judged.size)
    out.push({ title: 'Not in this version of the spec', rows: [...judged.values()] });
  return out;
}
