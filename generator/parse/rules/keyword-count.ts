// `keyword-count`: a requirement item holds exactly one keyword, which gives its level; none
// means it is a definition or not a statement, two mean two statements.

import { specError } from '../../messages.js';
import type { SourcePlace } from '../../model.js';
import type { CollectedRequirement } from '../collect.js';
import type { FoundWord } from '../keywords.js';

/** True for exactly one keyword; otherwise reported at the second, or at the ID when none. */
export function hasOneKeyword(
  req: CollectedRequirement,
  id: { value: string; source: SourcePlace },
  keywords: readonly FoundWord[],
): boolean {
  if (keywords.length === 1) return true;
  const heading = req.role === 'device' ? 'Device' : 'Driver';
  specError(
    req.file,
    keywords.length === 0
      ? `Requirement \`${id.value}\` has no RFC 2119 keyword; say MUST, MUST NOT, SHOULD, SHOULD NOT or MAY, or, when the spec defines the behaviour without a keyword, move the item under a "${heading} definitions: …" heading`
      : `Requirement \`${id.value}\` has ${keywords.length} keywords (${keywords.map((k) => k.keyword).join(', ')}); split it into one item per keyword`,
    keywords[1]?.source ?? id.source,
    'keyword-count',
  );
  return false;
}
