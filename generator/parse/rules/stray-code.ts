// `stray-code`: a requirement item holds its text, its ```scenario blocks and C blocks; any
// other code block there has no meaning to the model.

import { specError } from '../../messages.js';
import type { CollectedRequirement } from '../collect.js';

export function checkStrayCode(requirements: readonly CollectedRequirement[]): void {
  for (const { file, item } of requirements) {
    for (const c of item.children) {
      if (c.type !== 'code' || c.lang === 'scenario' || c.lang === 'c') continue;
      specError(file, 'Only ```scenario blocks belong in a requirement item', c, 'stray-code');
    }
  }
}
