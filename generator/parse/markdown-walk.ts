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

const lineCache = new WeakMap<VFile, string[]>();

function linesOf(file: VFile): string[] {
  let lines = lineCache.get(file);
  if (!lines) {
    lines = String(file.value).split('\n');
    lineCache.set(file, lines);
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
  const source = linesOf(file)[fileLine - 1] ?? '';
  const content = code.value.split('\n')[line] ?? '';
  const indent = Math.max(0, source.length - content.length);
  return { file: file.path, line: fileLine, column: indent + column + 1 };
}
