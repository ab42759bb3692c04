// First pass over the Markdown: collects sections, C blocks, tables, requirement items, inline
// names and the prose the rules read, in document order. Nothing is resolved here; headings
// are marked with their section's slug (data.ts).

import type {
  Code,
  Heading,
  InlineCode,
  ListItem,
  Nodes,
  Paragraph,
  Root,
  RootContent,
  Table,
} from 'mdast';
import { slug as githubSlug } from 'github-slugger';
import type { VFile } from 'vfile';
import type { Role, Section, SourcePlace } from '../model.js';
import './data.js';
import { placeOf, plainText } from './markdown-walk.js';

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
  file: VFile;
  node: InlineCode;
  name: string;
  source: SourcePlace;
  section: string;
}

export interface CollectedHeading {
  file: VFile;
  node: Heading;
  section: Section;
}

/** Text outside requirement items: prose, tables and other lists. */
export interface CollectedProse {
  file: VFile;
  node: Nodes;
}

export interface Collected {
  title?: string;
  headings: CollectedHeading[];
  deviceId?: { value: number; source: SourcePlace };
  codeBlocks: CollectedCode[];
  tables: CollectedTable[];
  requirements: CollectedRequirement[];
  names: CollectedName[];
  prose: CollectedProse[];
}

/** "Device requirements: …" holds keyword statements, "Device definitions: …" DEFINED ones. */
const STATEMENT_HEADING = /^(Device|Driver) (requirements|definitions):/;

export function collect(files: readonly VFile[], trees: readonly Root[]): Collected {
  const collector = new Collector();
  files.forEach((file, i) => {
    for (const node of trees[i].children) collector.topLevel(file, node);
  });
  return collector.out;
}

class Collector {
  readonly out: Collected = {
    headings: [],
    codeBlocks: [],
    tables: [],
    requirements: [],
    names: [],
    prose: [],
  };
  private section = '';
  private sectionTitle = '';
  private role: Role | undefined;
  private definitions = false;

  topLevel(file: VFile, node: RootContent): void {
    if (node.type === 'heading') {
      const title = plainText(node);
      const slug = githubSlug(title);
      node.data = { ...node.data, section: slug };
      if (node.depth === 1 && this.out.title === undefined) this.out.title = title;
      const section = { slug, title, depth: node.depth, source: placeOf(file, node) };
      this.out.headings.push({ file, node, section });
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

  /** Prose, tables and non-requirement lists: their C blocks and names; the rules read the rest. */
  private prose(file: VFile, node: Nodes): void {
    this.out.prose.push({ file, node });
    this.names(file, node);
    this.codeIn(file, node);
  }

  private codeIn(file: VFile, node: Nodes): void {
    if (node.type === 'code') {
      if (node.lang === 'c') this.out.codeBlocks.push({ file, node, section: this.section });
      return;
    }
    if ('children' in node) for (const c of node.children) this.codeIn(file, c as Nodes);
  }

  private names(file: VFile, node: Nodes, skip?: InlineCode): void {
    if (node.type === 'inlineCode') {
      if (node !== skip)
        this.out.names.push({
          file,
          node,
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
    }
    this.out.requirements.push(req);
  }
}
