// The stylesheet and the script that every page inlines, read at run time from assets/.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

const cache = new Map<string, string>();

function asset(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(packageRoot, 'generator', 'render', 'assets', name), 'utf8');
    cache.set(name, text);
  }
  return text;
}

export const stylesheet = (): string => asset('viommu.css');

export const targetFilterScript = (): string => asset('target-filter.js');
