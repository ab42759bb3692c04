// First pass over the Markdown: collects sections, C blocks, tables, requirement items and
// inline names, in document order. Nothing is resolved here; see parse-spec.ts.

import type {
  Code,
  InlineCode,
  ListItem,
  Nodes,
  Paragraph,
  Root,
  RootContent,
  Table,
  Text,
} from 'mdast';
import { slug as githubSlug } from 'github-slugger';
import type { VFile } from 'vfile';
import type { Role, Section, SourcePlace } from '../model.js';
import { placeOf, plainText } from './markdown-walk.js';

export interface Diagnostic {
  message: string;
  source: SourcePlace;
  rule: string;
  /** The problem is the file as a whole (it cannot be read): no line or column to show. */
  whole?: boolean;
}

export interface CollectedCode {
  file: VFile;
  node: Code;
  section: string;
}

export interface CollectedTable {
  file: VFile;
  node: Table;
  section: string;
  header: string[];
}

export interface CollectedRequirement {
  file: VFile;
  item: ListItem;
  role: Role;
  /** The item sits under a "… definitions:" heading: it states behaviour without a keyword. */
  definition: boolean;
  section: string;
  id?: { value: string; source: SourcePlace };
  paragraphs: Paragraph[];
  scenarios: Code[];
}

export interface CollectedName {
  name: string;
  source: SourcePlace;
  section: string;
}

export interface Collected {
  title?: string;
  sections: Section[];
  deviceId?: { value: number; source: SourcePlace };
  codeBlocks: CollectedCode[];
  tables: CollectedTable[];
  requirements: CollectedRequirement[];
  names: CollectedName[];
  diagnostics: Diagnostic[];
}

/** "Device requirements: …" holds keyword statements, "Device definitions: …" DEFINED ones. */
const STATEMENT_HEADING = /^(Device|Driver) (requirements|definitions):/;
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

export class Collector {
  private readonly seenSlugs = new Map<string, SourcePlace>();
  readonly out: Collected = {
    sections: [],
    codeBlocks: [],
    tables: [],
    requirements: [],
    names: [],
    diagnostics: [],
  };
  private section = '';
  private sectionTitle = '';
  private role: Role | undefined;
  private definitions = false;

  private diag(message: string, source: SourcePlace, rule: string): void {
    this.out.diagnostics.push({ message, source, rule });
  }

  collect(file: VFile, root: Root): void {
    for (const node of root.children) this.topLevel(file, node);
  }

  private topLevel(file: VFile, node: RootContent): void {
    if (node.type === 'heading') {
      const title = plainText(node);
      const slug = githubSlug(title);
      const source = placeOf(file, node);
      const earlier = this.seenSlugs.get(slug);
      if (earlier) {
        this.diag(
          `Heading "${title}" has the same anchor \`#${slug}\` as the heading at ${earlier.file}:${earlier.line}; give one of them another title`,
          source,
          'duplicate-section',
        );
      }
      this.seenSlugs.set(slug, source);
      if (node.depth === 1 && this.out.title === undefined) this.out.title = title;
      this.out.sections.push({ slug, title, depth: node.depth, source });
      this.section = slug;
      this.sectionTitle = title;
      const m = STATEMENT_HEADING.exec(title);
      this.role = m ? (m[1] === 'Device' ? 'device' : 'driver') : undefined;
      this.definitions = m?.[2] === 'definitions';
      this.names(file, node);
      return;
    }
    if (node.type === 'list' && this.role) {
      for (const item of node.children) this.requirement(file, item, this.role);
      return;
    }
    if (node.type === 'paragraph' && this.sectionTitle === 'Device ID' && !this.out.deviceId) {
      const text = plainText(node);
      if (/^\d+$/.test(text)) {
        this.out.deviceId = { value: Number(text), source: placeOf(file, node) };
        return;
      }
    }
    if (node.type === 'table') {
      const header = node.children[0]?.children.map((c) => plainText(c).toLowerCase()) ?? [];
      this.out.tables.push({ file, node, section: this.section, header });
    }
    this.prose(file, node);
  }

  /** Prose, tables and non-requirement lists: code blocks, names and stray keywords. */
  private prose(file: VFile, node: Nodes): void {
    this.names(file, node);
    this.codeIn(file, node);
    for (const k of keywordsIn(file, node)) {
      this.diag(
        `The keyword ${k.keyword} stands outside a requirement; move the sentence into a "Device requirements: …" or "Driver requirements: …" list, or write it in lower case`,
        k.source,
        'keyword-outside-requirement',
      );
    }
  }

  private codeIn(file: VFile, node: Nodes): void {
    if (node.type === 'code') {
      if (node.lang === 'c') this.out.codeBlocks.push({ file, node, section: this.section });
      else if (node.lang === 'scenario') {
        this.diag(
          'A scenario block must be nested in a requirement list item (indent it under the item)',
          placeOf(file, node),
          'stray-scenario',
        );
      }
      return;
    }
    if ('children' in node) for (const c of node.children) this.codeIn(file, c as Nodes);
  }

  private names(file: VFile, node: Nodes, skip?: InlineCode): void {
    if (node.type === 'inlineCode') {
      if (node !== skip)
        this.out.names.push({
          name: node.value,
          source: placeOf(file, node),
          section: this.section,
        });
      return;
    }
    if ('children' in node) for (const c of node.children) this.names(file, c as Nodes, skip);
  }

  private requirement(file: VFile, item: ListItem, role: Role): void {
    const paragraphs = item.children.filter((c): c is Paragraph => c.type === 'paragraph');
    const scenarios = item.children.filter(
      (c): c is Code => c.type === 'code' && c.lang === 'scenario',
    );
    const first = paragraphs[0]?.children[0];
    const req: CollectedRequirement = {
      file,
      item,
      role,
      definition: this.definitions,
      section: this.section,
      paragraphs,
      scenarios,
    };
    if (first?.type === 'inlineCode') req.id = { value: first.value, source: placeOf(file, first) };
    for (const p of paragraphs)
      this.names(file, p, first?.type === 'inlineCode' ? first : undefined);
    for (const c of item.children) {
      if (c.type === 'code' && c.lang === 'c')
        this.out.codeBlocks.push({ file, node: c, section: this.section });
      else if (c.type === 'list') this.prose(file, c);
      else if (c.type === 'code' && c.lang !== 'scenario') {
        this.diag(
          'Only ```scenario blocks belong in a requirement item',
          placeOf(file, c),
          'stray-code',
        );
      }
    }
    this.out.requirements.push(req);
  }
}
