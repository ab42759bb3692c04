// Reads one change document of spec-src/versions/ (docs/spec-dialect.md, "Versions"): its
// settings (`base:`, `layout:`), and its change sections, each `## Added: TITLE`,
// `## Changed: TITLE`, `## Removed` or `## Renamed`. Data in, data out: the resolver applies
// the changes and reports what does not fit the base.

import type { Heading, InlineCode, ListItem, RootContent } from 'mdast';
import type { VFile } from 'vfile';
import type { SourcePlace } from '../model.js';
import { parseCBlock, type DefineDecl, type StructDecl } from '../parse/c-block.js';
import type { Diagnostic } from '../parse/collect.js';
import { codePlace, parseMarkdown, placeOf, plainText } from '../parse/markdown-walk.js';

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
  diagnostics: Diagnostic[];
}

const SETTING = /^(base|layout):[ \t]*(\S*)[ \t]*$/;
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
    diagnostics: [],
  };
  const diag = (message: string, source: SourcePlace, rule: string) =>
    doc.diagnostics.push({ message, source, rule });
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
  if (kind === 'removed' && names.length === 1) doc.removed.push(names[0]);
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
