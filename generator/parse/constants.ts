// Constants of the spec: `#define` lines of the C blocks and the rows of the tables the dialect
// names (bit|name|meaning for feature bits, value|name|meaning for other values), grouped by
// their name prefix. The virtqueue table (index|name|purpose) is read here too.

import type { VFile } from 'vfile';
import type { Constant, ConstantGroup, SourcePlace, Virtqueue } from '../model.js';
import type { CBlock } from './c-block.js';
import type { CollectedCode, CollectedTable } from './collect.js';
import { markConstant, type DefinitionSite } from './data.js';
import { codePlace, placeOf, plainText } from './markdown-walk.js';
import { constantGroup } from './rules/constant-group.js';
import { checkDistinctValue } from './rules/constant-value.js';
import { isFirstDefinition } from './rules/duplicate-constant.js';
import { tableValue } from './rules/table.js';

export interface PendingConstant {
  name: string;
  value: number;
  expression: string;
  doc?: string;
  section: string;
  file: VFile;
  source: SourcePlace;
  site: DefinitionSite;
  feature?: boolean;
}

/** The constants the C blocks define, in order. */
export function definedConstants(block: CollectedCode, parsed: CBlock): PendingConstant[] {
  return parsed.defines.map((d) => ({
    name: d.name,
    value: d.value,
    expression: d.expression,
    ...(d.doc ? { doc: d.doc } : {}),
    section: block.section,
    file: block.file,
    source: codePlace(block.file, block.node, d.place.line, d.place.column),
    site: { node: block.node, line: d.place.line },
  }));
}

/** The constants and virtqueues the tables define, in order. */
export function readTables(tables: readonly CollectedTable[]): {
  constants: PendingConstant[];
  virtqueues: Virtqueue[];
} {
  const constants: PendingConstant[] = [];
  const virtqueues: Virtqueue[] = [];
  for (const { file, node, section, header } of tables) {
    const kind = header.join('|');
    const rows = node.children.slice(1);
    if (kind === 'bit|name|meaning' || kind === 'value|name|meaning') {
      for (const row of rows) {
        const [valueCell, nameCell, meaningCell] = row.children;
        const expression = tableValue(file, valueCell);
        if (expression === undefined) continue;
        constants.push({
          name: plainText(nameCell),
          value: Number(expression),
          expression,
          doc: meaningCell ? plainText(meaningCell) : undefined,
          section,
          file,
          source: placeOf(file, nameCell),
          site: { node: row },
          feature: kind.startsWith('bit'),
        });
      }
    } else if (kind === 'index|name|purpose') {
      for (const row of rows) {
        const [index, name, purpose] = row.children.map((c) => plainText(c));
        virtqueues.push({ index: Number(index), name, purpose: purpose ?? '' });
      }
    }
  }
  return { constants, virtqueues };
}

/** Groups the constants by prefix; the first definition of a name wins. Marks each on its node. */
export function groupConstants(pending: readonly PendingConstant[]): {
  constants: Constant[];
  groups: ConstantGroup[];
} {
  const constants: Constant[] = [];
  const groups = new Map<string, ConstantGroup & { values: Map<number, string> }>();
  const seen = new Map<string, SourcePlace>();
  for (const p of pending) {
    if (!isFirstDefinition(p, seen)) continue;
    const prefix = constantGroup(p);
    if (!prefix) continue;
    let group = groups.get(prefix);
    if (!group) {
      group = {
        prefix,
        kind: p.feature ? 'feature' : 'enum',
        section: p.section,
        members: [],
        values: new Map(),
      };
      groups.set(prefix, group);
    }
    if (p.expression.includes('<<')) group.kind = 'flags';
    checkDistinctValue(p, prefix, group.values);
    group.values.set(p.value, p.name);
    group.members.push(p.name);
    markConstant(p.site, p.name);
    constants.push({
      name: p.name,
      value: p.value,
      expression: p.expression,
      group: prefix,
      ...(p.doc ? { doc: p.doc } : {}),
      section: p.section,
      source: p.source,
    });
  }
  return {
    constants,
    groups: [...groups.values()].map(({ prefix, kind, section, members }) => ({
      prefix,
      kind,
      section,
      members,
    })),
  };
}
