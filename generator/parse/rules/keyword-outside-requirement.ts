// `keyword-outside-requirement`: an RFC 2119 keyword in capitals makes a statement, so it
// stands only in a requirement item, where the statement gets an ID.

import { specError } from '../../messages.js';
import type { CollectedProse } from '../collect.js';
import { keywordsIn } from '../keywords.js';

export function checkKeywordsOutsideRequirements(prose: readonly CollectedProse[]): void {
  for (const { file, node } of prose) {
    for (const k of keywordsIn(file, node)) {
      specError(
        file,
        `The keyword ${k.keyword} stands outside a requirement; move the sentence into a "Device requirements: …" or "Driver requirements: …" list, or write it in lower case`,
        k.source,
        'keyword-outside-requirement',
      );
    }
  }
}
