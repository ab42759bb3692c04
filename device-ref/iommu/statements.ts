// Layer: iommu.
// The statements of the spec, as dist/cases.json lists them: findings quote the rule the
// driver broke in the spec's own words, and an ID the spec does not define is an error.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../package-root.js';

export interface StatementText {
  id: string;
  role: 'device' | 'driver';
  level: string;
  text: string;
}

export type StatementCatalog = ReadonlyMap<string, StatementText>;

/** The catalog of a parsed dist/cases.json; throws on a file of another shape. */
export function statementCatalog(cases: unknown): StatementCatalog {
  const statements = (cases as { statements?: unknown } | null)?.statements;
  if (!Array.isArray(statements)) throw new Error('dist/cases.json: no "statements" list');
  const catalog = new Map<string, StatementText>();
  for (const entry of statements as Partial<StatementText>[]) {
    const { id, role, level, text } = entry;
    if (
      typeof id !== 'string' ||
      (role !== 'device' && role !== 'driver') ||
      typeof level !== 'string' ||
      typeof text !== 'string'
    ) {
      throw new Error(`dist/cases.json: malformed statement ${JSON.stringify(entry.id ?? entry)}`);
    }
    catalog.set(id, { id, role, level, text });
  }
  return catalog;
}

/** Reads dist/cases.json of this package (run `viommu build` to make it). */
export function loadStatementCatalog(): StatementCatalog {
  const path = join(findPackageRoot(), 'dist', 'cases.json');
  if (!existsSync(path)) throw new Error('dist/cases.json is missing: run `viommu build` first');
  return statementCatalog(JSON.parse(readFileSync(path, 'utf8')));
}
