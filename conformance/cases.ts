// The statements and scenarios the suite runs: dist/cases.json, as `viommu build` wrote it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cases } from '../dist/ts/schemas/cases.js';
import { packageRoot } from './package-root.js';

export type { Cases, CaseStatement } from '../dist/ts/schemas/cases.js';

export const CASES_PATH = join(packageRoot, 'dist', 'cases.json');

export function loadCases(path = CASES_PATH): Cases {
  return JSON.parse(readFileSync(path, 'utf8')) as Cases;
}
