// `definition-keyword`: an item under a "… definitions:" heading states what an operation is,
// at level DEFINED, so it holds no RFC 2119 keyword.

import { specError } from '../../messages.js';
import type { CollectedRequirement } from '../collect.js';
import type { FoundWord } from '../keywords.js';

/** True when the definition holds no keyword; otherwise the first is reported. */
export function isKeywordFree(
  req: CollectedRequirement,
  id: string,
  keywords: readonly FoundWord[],
): boolean {
  if (keywords.length === 0) return true;
  const heading = req.role === 'device' ? 'Device' : 'Driver';
  specError(
    req.file,
    `Definition \`${id}\` holds the keyword ${keywords[0].keyword}; a definition states what an operation is, without a keyword. Write the sentence without it, or move the item under a "${heading} requirements: …" heading if the spec gives that keyword`,
    keywords[0].source,
    'definition-keyword',
  );
  return false;
}
