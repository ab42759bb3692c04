// Small helpers over mdast: parsing, places, plain text.

import type { Code, Nodes, Root } from 'mdast';
import { toString } from 'mdast-util-to-string';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import type { VFile } from 'vfile';
import type { SourcePlace } from '../model.js';

const processor = unified().use(remarkParse).use(remarkGfm);

export function parseMarkdown(file: VFile): Root {
  return processor.runSync(processor.parse(file), file) as Root;
}

export function placeOf(file: VFile, node: Nodes): SourcePlace {
  const start = node.position?.start;
  return { file: file.path, line: start?.line ?? 1, column: start?.column ?? 1 };
}

export function plainText(node: Nodes): string {
  return toString(node).replace(/\s+/g, ' ').trim();
}

// Lines of a file and of a code block, split once: places are asked for line by line, and
// splitting per question would make a block of n lines cost n² (a 20,000-line C block).
const fileLines = new WeakMap<VFile, string[]>();
const codeLines = new WeakMap<Code, string[]>();

function linesOf<K extends object>(cache: WeakMap<K, string[]>, key: K, text: string): string[] {
  let lines = cache.get(key);
  if (!lines) {
    lines = text.split('\n');
    cache.set(key, lines);
  }
  return lines;
}

/**
 * Maps a (0-based line, 0-based column) inside a fenced code block's content to its place in
 * the file. mdast strips the indentation of code nested in lists, so the column is recovered
 * from the source line.
 */
export function codePlace(file: VFile, code: Code, line: number, column: number): SourcePlace {
  const fenceLine = code.position?.start.line ?? 1;
  const fileLine = fenceLine + 1 + line;
  const source = linesOf(fileLines, file, String(file.value))[fileLine - 1] ?? '';
  const content = linesOf(codeLines, code, code.value)[line] ?? '';
  const indent = Math.max(0, source.length - content.length);
  return { file: file.path, line: fileLine, column: indent + column + 1 };
}
