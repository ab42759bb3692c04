// The drift allow-list: differences between a header and the spec that are known and
// accepted, each with a reason (generator/drift/allow-list.json by default).

import { join } from 'node:path';
import { readJsonFile } from '../json-file.js';
import { packageRoot } from '../paths.js';
import type { Finding, FindingKind } from './compare.js';

export interface Allowance {
  kind: FindingKind;
  subject: string;
  reason: string;
}

export const DEFAULT_ALLOW_LIST = join(packageRoot, 'generator', 'drift', 'allow-list.json');

export function readAllowList(path: string): Allowance[] {
  return readJsonFile<{ accepted: Allowance[] }>(
    path,
    join(packageRoot, 'generator', 'drift', 'allow-list.schema.json'),
    'Drift allow-list',
  ).accepted;
}

/** The allowance that accepts a finding, if any. */
export function allowanceFor(finding: Finding, allowances: Allowance[]): Allowance | undefined {
  return allowances.find((a) => a.kind === finding.kind && a.subject === finding.subject);
}
