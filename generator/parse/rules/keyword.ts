// `keyword`: the spec's levels are MUST, MUST NOT, SHOULD, SHOULD NOT and MAY; RFC 2119's other
// words (SHALL, REQUIRED, RECOMMENDED, OPTIONAL) are written as one of those.

import { KEYWORD_LEVELS } from '../../model-facts.js';
import { specError } from '../../messages.js';
import type { CollectedRequirement } from '../collect.js';
import type { FoundWord } from '../keywords.js';

/** True when every keyword is one of the levels; otherwise the first other is reported. */
export function areLevelKeywords(
  req: CollectedRequirement,
  keywords: readonly FoundWord[],
): boolean {
  const unknown = keywords.find((k) => !(KEYWORD_LEVELS as readonly string[]).includes(k.keyword));
  if (!unknown) return true;
  specError(
    req.file,
    `Use MUST, MUST NOT, SHOULD, SHOULD NOT or MAY instead of ${unknown.keyword}`,
    unknown.source,
    'keyword',
  );
  return false;
}
