// Reads one change document of spec-src/versions/ (docs/spec-dialect.md, "Versions"): its
// settings (`base:`, `layout:`, `statements:`), and its change sections, each `## Added: TITLE`,
// `## Changed: TITLE`, `## Removed` or `## Renamed`; a TITLE such as `Device requirements: X`
// holds statements. Data in, data out: its own mistakes are messages on the file, and the
// resolver applies the changes and reports what does not fit the base.

import type { Code, Heading, InlineCode, ListItem, Paragraph, RootContent } from 'mdast';
import { slug as githubSlug } from 'github-slugger';
import type { VFile } from 'vfile';
import type { Level, Role, SourcePlace, Statement } from '../model.js';
import { specError } from '../messages.js';
import { KEYWORD_LEVELS } from '../model-facts.js';
import {
  codePlace,
  keywordsIn,
  parseCBlock,
  parseMarkdown,
  placeOf,
  plainText,
  type DefineDecl,
  type StructDecl,
} from '../parse/index.js';

export type ChangeKind = 'added' | 'changed';

export interface StructChange {
  kind: ChangeKind;
  decl: StructDecl;
  section: string;
  at(place: { line: number; column: number }): SourcePlace;
}

export interface ConstantChange {
  kind: ChangeKind;
  decl: DefineDecl;
  section: string;
  source: SourcePlace;
}

export interface NamedItem {
  name: string;
  source: SourcePlace;
}

export interface StatementChange {
  kind: ChangeKind;
  statement: Statement;
}

export interface VersionDoc {
  /** The file name without `.md`: `v0.9`. */
  name: string;
  title: string;
  /** The version this one changes; undefined for the root of the chain (`base: none`). */
  base?: NamedItem;
  layout: 'natural' | 'packed';
  /** Section titles in document order, as slug → title. */
  sections: { slug: string; title: string; source: SourcePlace }[];
  structs: StructChange[];
  constants: ConstantChange[];
  removed: NamedItem[];
  renamed: { from: NamedItem; to: NamedItem }[];
  /**
   * `statements: current`: the version's statements start from the current spec's (the
   * statements of a version whose text is known, stated as what differs from today's).
   * Otherwise they are its base's.
   */
  statementsFrom?: NamedItem;
  statements: StatementChange[];
  /** Statement IDs under `## Removed`. */
  removedStatements: NamedItem[];
}

const SETTING = /^(base|layout|statements):[ \t]*(\S*)[ \t]*$/;
/** `## Added: Device requirements: ATTACH request` holds statements, as spec-src does. */
const STATEMENT_TITLE = /^(Device|Driver) (requirements|definitions):/;
const STATEMENT_ID = /^(dev|drv)\./;
const CHANGE_HEADING = /^(Added|Changed): (.+)$|^(Removed|Renamed)$/;

export function slugOf(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .trim()
    .replace(/\s+/g, '-');
}

export function readVersionDoc(file: VFile, name: string): VersionDoc {
  const doc: VersionDoc = {
    name,
    title: name,
    layout: 'natural',
    sections: [],
    structs: [],
    constants: [],
    removed: [],
    renamed: [],
    statements: [],
    removedStatements: [],
  };
  // Every place is in this file: what it says wrong is reported on it.
  const diag = (message: string, source: SourcePlace, rule: string) =>
    specError(file, message, source, rule);
  const first = { file: file.path, line: 1, column: 1 };

  // Settings: `key: value` lines before the first change section.
  const lines = String(file.value).split('\n');
  const settings = new Map<string, NamedItem>();
  for (let i = 0; i < lines.length && !lines[i].startsWith('## '); i++) {
    const m = SETTING.exec(lines[i]);
    if (m)
      settings.set(m[1], {
        name: m[2],
        source: { ...first, line: i + 1, column: m[1].length + 3 },
      });
  }
  const base = settings.get('base');
  if (!base || base.name === '') {
    diag(
      'A version states its base: `base: vX` (or `base: none` for the first version)',
      first,
      'version-base',
    );
  } else if (base.name !== 'none') doc.base = base;
  const statementsFrom = settings.get('statements');
  if (statementsFrom?.name === 'current') doc.statementsFrom = statementsFrom;
  else if (statementsFrom)
    diag(
      `\`statements:\` names where a version's statements start from: \`current\` (the current spec's), not \`${statementsFrom.name}\`; without the line they are its base's`,
      statementsFrom.source,
      'version-statements',
    );
  const layout = settings.get('layout');
  if (layout?.name === 'packed' || layout?.name === 'natural') doc.layout = layout.name;
  else
    diag(
      `A version states its C layout: \`layout: natural\` or \`layout: packed\`${layout ? `, not \`${layout.name}\`` : ''}`,
      layout?.source ?? first,
      'version-layout',
    );

  const root = parseMarkdown(file);
  let change: { kind: 'added' | 'changed' | 'removed' | 'renamed'; section: string } | undefined;
  for (const node of root.children as RootContent[]) {
    if (node.type === 'heading') {
      const heading = node as Heading;
      const text = plainText(heading);
      if (heading.depth === 1) {
        doc.title = text;
        continue;
      }
      const m = CHANGE_HEADING.exec(text);
      if (heading.depth !== 2 || !m) {
        diag(
          'A version has `## Added: TITLE`, `## Changed: TITLE`, `## Removed` and `## Renamed` sections only',
          placeOf(file, heading),
          'version-section',
        );
        change = undefined;
        continue;
      }
      const kind = (m[1] ?? m[3]).toLowerCase() as 'added' | 'changed' | 'removed' | 'renamed';
      const title = m[2] ?? '';
      const slug = slugOf(title);
      if (title && !doc.sections.some((s) => s.slug === slug))
        doc.sections.push({ slug, title, source: placeOf(file, heading) });
      change = { kind, section: slug };
      continue;
    }
    if (!change) continue;
    if (node.type === 'code' && node.lang === 'c') {
      if (change.kind !== 'added' && change.kind !== 'changed') {
        diag(
          'Structs and constants go under `## Added: …` or `## Changed: …`',
          placeOf(file, node),
          'version-section',
        );
        continue;
      }
      const code = node;
      const at = (p: { line: number; column: number }) => codePlace(file, code, p.line, p.column);
      const parsed = parseCBlock(code.value);
      for (const e of parsed.errors) diag(e.message, at(e.place), 'c-syntax');
      for (const s of parsed.structs)
        doc.structs.push({ kind: change.kind, decl: s, section: change.section, at });
      for (const d of parsed.defines)
        doc.constants.push({
          kind: change.kind,
          decl: d,
          section: change.section,
          source: at(d.place),
        });
    } else if (node.type === 'list' && (change.kind === 'removed' || change.kind === 'renamed')) {
      for (const item of node.children as ListItem[])
        readListItem(file, item, change.kind, doc, diag);
    } else if (node.type === 'list' && change.kind !== 'removed' && change.kind !== 'renamed') {
      const title = doc.sections.find((s) => s.slug === change!.section)?.title ?? '';
      const m = STATEMENT_TITLE.exec(title);
      if (!m) {
        diag(
          'Statements go under `## Added: Device requirements: TITLE` (or Driver, or definitions), as in spec-src',
          placeOf(file, node),
          'version-section',
        );
        continue;
      }
      const role: Role = m[1] === 'Device' ? 'device' : 'driver';
      for (const item of node.children as ListItem[]) {
        const statement = readStatement(file, item, role, m[2] === 'definitions', title, diag);
        if (statement) doc.statements.push({ kind: change.kind, statement });
      }
    }
  }
  return doc;
}

function readListItem(
  file: VFile,
  item: ListItem,
  kind: 'removed' | 'renamed',
  doc: VersionDoc,
  diag: (message: string, source: SourcePlace, rule: string) => void,
): void {
  const names: NamedItem[] = [];
  const visit = (n: { type: string; children?: unknown[] }) => {
    if (n.type === 'inlineCode') {
      const code = n as InlineCode;
      names.push({ name: code.value.replace(/^struct /, ''), source: placeOf(file, code) });
    }
    for (const c of (n.children ?? []) as { type: string }[]) visit(c);
  };
  visit(item);
  if (kind === 'removed' && names.length === 1 && STATEMENT_ID.test(names[0].name))
    doc.removedStatements.push(names[0]);
  else if (kind === 'removed' && names.length === 1) doc.removed.push(names[0]);
  else if (kind === 'renamed' && names.length === 2)
    doc.renamed.push({ from: names[0], to: names[1] });
  else
    diag(
      kind === 'removed'
        ? 'A removal names one struct or constant: - `NAME`'
        : 'A rename names the old and the new name: - `OLD` → `NEW`',
      placeOf(file, item),
      'version-list',
    );
}

/**
 * One statement of a version, in spec-src's dialect: its ID in inline code first, then one
 * RFC 2119 keyword (none under "… definitions:"). A historic statement has no scenarios.
 */
function readStatement(
  file: VFile,
  item: ListItem,
  role: Role,
  definition: boolean,
  title: string,
  diag: (message: string, source: SourcePlace, rule: string) => void,
): Statement | undefined {
  const paragraphs = item.children.filter((c): c is Paragraph => c.type === 'paragraph');
  const first = paragraphs[0]?.children[0];
  if (first?.type !== 'inlineCode' || !STATEMENT_ID.test(first.value)) {
    diag('A statement starts with its ID in inline code', placeOf(file, item), 'missing-id');
    return undefined;
  }
  const id = first.value;
  const source = placeOf(file, first);
  if (!id.startsWith(role === 'device' ? 'dev.' : 'drv.')) {
    diag(`\`${id}\` sits under ${role} statements; its ID must say so`, source, 'bad-id');
    return undefined;
  }
  for (const c of item.children.filter((c): c is Code => c.type === 'code'))
    diag('A statement of a version has no scenarios', placeOf(file, c), 'stray-code');
  const keywords = paragraphs.flatMap((p) => keywordsIn(file, p));
  let level: Level;
  if (definition) {
    if (keywords.length) {
      diag(
        `Definition \`${id}\` holds the keyword ${keywords[0].keyword}`,
        keywords[0].source,
        'definition-keyword',
      );
      return undefined;
    }
    level = 'DEFINED';
  } else {
    const known = keywords.filter((k) => (KEYWORD_LEVELS as readonly string[]).includes(k.keyword));
    if (keywords.length !== 1 || known.length !== 1) {
      diag(
        `Requirement \`${id}\` needs exactly one of MUST, MUST NOT, SHOULD, SHOULD NOT or MAY`,
        keywords[1]?.source ?? source,
        'keyword-count',
      );
      return undefined;
    }
    level = known[0].keyword as Level;
  }
  const names: string[] = [];
  for (const p of paragraphs)
    for (const c of p.children)
      if (c.type === 'inlineCode' && c !== first && !names.includes(c.value)) names.push(c.value);
  return {
    id,
    role,
    level,
    section: githubSlug(title),
    text: paragraphs.map(plainText).join(' ').slice(id.length).trim(),
    names,
    scenarios: [],
    source,
  };
}
