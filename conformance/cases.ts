// The statements and scenarios the suite runs: dist/cases.json, as `viommu build` wrote it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Draft, Statement } from '../generator/model.js';
import { packageRoot } from '../generator/paths.js';

export interface CaseStatement extends Statement {
  sectionTitle: string;
}

export interface Cases {
  title: string;
  version: string;
  /** The drafts whose statements are among `statements` (`viommu conform --drafts`). */
  drafts?: Draft[];
  statements: CaseStatement[];
}

export const CASES_PATH = join(packageRoot, 'dist', 'cases.json');

export function loadCases(path = CASES_PATH): Cases {
  return JSON.parse(readFileSync(path, 'utf8')) as Cases;
}
