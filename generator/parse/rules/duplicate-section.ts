// `duplicate-section`: every heading's anchor (its slug) is unique across the spec, so that a
// link to a section lands on one place.

import { specError } from '../../messages.js';
import type { SourcePlace } from '../../model.js';
import type { CollectedHeading } from '../collect.js';

export function checkDuplicateSections(headings: readonly CollectedHeading[]): void {
  const seen = new Map<string, SourcePlace>();
  for (const { file, node, section } of headings) {
    const earlier = seen.get(section.slug);
    if (earlier) {
      specError(
        file,
        `Heading "${section.title}" has the same anchor \`#${section.slug}\` as the heading at ${earlier.file}:${earlier.line}; give one of them another title`,
        node,
        'duplicate-section',
      );
    }
    seen.set(section.slug, section.source);
  }
}
