// `defined-in-requirement`: DEFINED is a level that a "… definitions:" heading gives; in
// capitals inside a requirement item it would give the item two levels, or a level that its
// heading does not.

import { specError } from '../../messages.js';
import type { CollectedRequirement } from '../collect.js';
import type { FoundWord } from '../keywords.js';

/** True when the requirement holds no DEFINED; otherwise the first is reported. */
export function isFreeOfDefined(
  req: CollectedRequirement,
  id: string,
  keywords: readonly FoundWord[],
  definedWords: readonly FoundWord[],
): boolean {
  if (definedWords.length === 0) return true;
  const heading = req.role === 'device' ? 'Device' : 'Driver';
  specError(
    req.file,
    keywords.length > 0
      ? `Requirement \`${id}\` holds both ${keywords[0].keyword} and DEFINED; a statement has one level. Drop DEFINED, or drop the keyword and move the item under a "${heading} definitions: …" heading`
      : `DEFINED is not a keyword of requirement items; move \`${id}\` under a "${heading} definitions: …" heading (the heading makes its level DEFINED), or write the word in lower case`,
    definedWords[0].source,
    'defined-in-requirement',
  );
  return false;
}
