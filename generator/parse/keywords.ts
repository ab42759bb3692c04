// RFC 2119 keywords and the level word DEFINED in the text of a Markdown node, each with its
// place: the statement rules and the version documents read them.

import type { Nodes, Text } from 'mdast';
import type { VFile } from 'vfile';
import type { SourcePlace } from '../model.js';
import { placeOf } from './markdown-walk.js';

const KEYWORDS =
  /\b(MUST\s+NOT|MUST|SHOULD\s+NOT|SHOULD|MAY|SHALL\s+NOT|SHALL|REQUIRED|RECOMMENDED|OPTIONAL)\b/g;
/** The level word of a definition; in capitals it marks one, so a requirement must not hold it. */
const DEFINED_WORD = /\b(DEFINED)\b/g;

export interface FoundWord {
  keyword: string;
  source: SourcePlace;
}

/** RFC 2119 keywords in the text nodes under `node` (inline code excluded). */
export function keywordsIn(file: VFile, node: Nodes): FoundWord[] {
  return wordsIn(file, node, KEYWORDS);
}

/** The word DEFINED, in capitals, in the text nodes under `node`. */
export function definedWordsIn(file: VFile, node: Nodes): FoundWord[] {
  return wordsIn(file, node, DEFINED_WORD);
}

function wordsIn(file: VFile, node: Nodes, pattern: RegExp): FoundWord[] {
  const found: FoundWord[] = [];
  const visit = (n: Nodes): void => {
    if (n.type === 'text') {
      const text = (n as Text).value;
      const start = placeOf(file, n);
      // Newlines are counted from one match to the next, so that a long paragraph full of
      // keywords is read once, not once per keyword.
      let line = start.line;
      let lineStart = -1; // index of the last newline before the match; -1: the node's first line
      let scanned = 0;
      for (const m of text.matchAll(pattern)) {
        for (let i = text.indexOf('\n', scanned); i !== -1 && i < m.index;) {
          line++;
          lineStart = i;
          i = text.indexOf('\n', i + 1);
        }
        scanned = m.index;
        found.push({
          keyword: m[1].replace(/\s+/g, ' '),
          source: {
            file: start.file,
            line,
            column: lineStart === -1 ? start.column + m.index : m.index - lineStart,
          },
        });
      }
    } else if ('children' in n) {
      for (const c of n.children) visit(c as Nodes);
    }
  };
  visit(node);
  return found;
}
