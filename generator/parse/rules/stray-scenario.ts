// `stray-scenario`: a scenario belongs to the statement it tests, so its block is nested in a
// requirement item.

import { visit } from 'unist-util-visit';
import { specError } from '../../messages.js';
import type { CollectedProse } from '../collect.js';

export function checkStrayScenarios(prose: readonly CollectedProse[]): void {
  for (const { file, node } of prose) {
    visit(node, 'code', (code) => {
      if (code.lang !== 'scenario') return;
      specError(
        file,
        'A scenario block must be nested in a requirement list item (indent it under the item)',
        code,
        'stray-scenario',
      );
    });
  }
}
