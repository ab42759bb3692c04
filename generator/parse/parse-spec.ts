// spec-src → model. Collects the Markdown (collect.ts), lays out structs, groups constants,
// parses requirements and scenarios, and resolves every inline name. Data in, data out:
// the caller decides what to do with the diagnostics.

import type { Code, Paragraph } from 'mdast';
import type { VFile } from 'vfile';
import type {
  Constant,
  ConstantGroup,
  Level,
  Scenario,
  SourcePlace,
  SpecModel,
  Statement,
  Virtqueue,
} from '../model.js';
import { parseCBlock, type DefineDecl } from './c-block.js';
import {
  CONFIG_STRUCT,
  KEYWORD_LEVELS,
  REQUEST_TYPE_GROUP,
  groupPrefix,
  requestConstantName,
  requestStructName,
} from '../model-facts.js';
import {
  Collector,
  definedWordsIn,
  keywordsIn,
  type CollectedRequirement,
  type Diagnostic,
} from './collect.js';
import { hoistInlineStructs, layoutStructs, type LocatedStruct } from './layout.js';
import { codePlace, parseMarkdown, placeOf, plainText } from './markdown-walk.js';
import { ModelIndex, NameHints, didYouMean } from './model-index.js';
import { ScenarioParser } from './scenario.js';

export interface ParseInput {
  /** spec-src Markdown files, in reading order. */
  files: VFile[];
  /** IDs retired from use, one per line (`#` comments allowed). */
  retiredIds?: VFile;
  version: string;
}

export interface ParseResult {
  model?: SpecModel;
  diagnostics: Diagnostic[];
}

/** Records a diagnostic of the run; parsing goes on, so that one run reports every mistake. */
type Report = (message: string, source: SourcePlace, rule: string) => void;

const STATEMENT_ID = /^(dev|drv)\.[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)+$/;
const NUMBER = /^(0x[0-9a-fA-F]+|[0-9]+)$/;

interface PendingConstant {
  name: string;
  value: number;
  expression: string;
  doc?: string;
  section: string;
  source: SourcePlace;
  feature?: boolean;
}

export function parseSpec(input: ParseInput): ParseResult {
  const collector = new Collector();
  for (const file of input.files) collector.collect(file, parseMarkdown(file));
  const collected = collector.out;
  const diagnostics: Diagnostic[] = [...collected.diagnostics];
  // Where a mistake of the whole spec (a missing title or struct) is reported.
  const first = { file: input.files[0]?.path ?? 'spec-src', line: 1, column: 1 };
  const diag: Report = (message, source, rule) => {
    diagnostics.push({ message, source, rule });
  };

  // Constants: `#define` lines and the tables the dialect names.
  const pending: PendingConstant[] = [];
  const located: LocatedStruct[] = [];
  const virtqueues: Virtqueue[] = [];
  for (const block of collected.codeBlocks) {
    const parsed = parseCBlock(block.node.value);
    const at = (p: { line: number; column: number }) =>
      codePlace(block.file, block.node, p.line, p.column);
    for (const e of parsed.errors) diag(e.message, at(e.place), 'c-syntax');
    for (const d of parsed.defines) pending.push(defineToConstant(d, block.section, at(d.place)));
    for (const decl of parsed.structs) located.push({ decl, section: block.section, at });
  }
  for (const table of collected.tables) {
    const kind = table.header.join('|');
    const rows = table.node.children.slice(1);
    if (kind === 'bit|name|meaning' || kind === 'value|name|meaning') {
      for (const row of rows) {
        const [valueCell, nameCell, meaningCell] = row.children;
        const value = plainText(valueCell);
        const name = plainText(nameCell);
        if (!NUMBER.test(value)) {
          diag(
            `\`${value}\` is not a number; the first column of this table holds values`,
            placeOf(table.file, valueCell),
            'table',
          );
          continue;
        }
        pending.push({
          name,
          value: Number(value),
          expression: value,
          doc: meaningCell ? plainText(meaningCell) : undefined,
          section: table.section,
          source: placeOf(table.file, nameCell),
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
  const { constants, groups } = groupConstants(pending, diag);
  const constantNames = new Set(constants.map((c) => c.name));

  const laid = layoutStructs(located, (name) => {
    const type = requestConstantName(name);
    return constantNames.has(type) ? type : undefined;
  });
  for (const e of laid.errors) diag(e.message, e.source, 'layout');
  const index = new ModelIndex(laid.structs, constants);
  const configPaths = index.fieldPaths(CONFIG_STRUCT);
  if (!index.structs.has(CONFIG_STRUCT) && laid.errors.length === 0) {
    diag(`The spec defines no \`struct ${CONFIG_STRUCT}\``, first, 'model');
  }
  for (const s of laid.structs) {
    for (const f of s.fields) {
      if (
        f.kind === 'variable' &&
        !configPaths.has(f.lengthField) &&
        !laid.failed.has(CONFIG_STRUCT)
      ) {
        diag(
          `The length of \`${f.name}\` must be a field of \`${CONFIG_STRUCT}\`; \`${f.lengthField}\` is not${didYouMean(f.lengthField, configPaths.keys())}`,
          f.source,
          'layout',
        );
      }
    }
  }
  for (const c of constants) {
    const structName = requestStructName(c.name);
    if (
      c.group === REQUEST_TYPE_GROUP &&
      structName &&
      !index.structs.has(structName) &&
      !laid.failed.has(structName)
    ) {
      diag(`Request type \`${c.name}\` has no structure \`${structName}\``, c.source, 'model');
    }
  }

  // Requirements and their scenarios.
  const retired = readRetired(input.retiredIds);
  const statements: Statement[] = [];
  const ids = new Map<string, SourcePlace>();
  const scenarioParser = new ScenarioParser(index, laid.failed);
  for (const req of collected.requirements) {
    const statement = parseRequirement(req, scenarioParser, diag);
    if (!statement) continue;
    const earlier = ids.get(statement.id);
    if (earlier) {
      diag(
        `Statement ID \`${statement.id}\` is already used at ${earlier.file}:${earlier.line}; give this statement a new ID`,
        statement.source,
        'duplicate-id',
      );
      continue;
    }
    if (retired.has(statement.id)) {
      diag(
        `Statement ID \`${statement.id}\` is retired (spec-src/retired-ids.txt) and must never be reused; choose a new ID`,
        statement.source,
        'retired-id',
      );
      continue;
    }
    ids.set(statement.id, statement.source);
    statements.push(statement);
  }

  // Every inline name resolves against the model.
  const known = knownNames(index, constants, groups, ids);
  // Names declared in structs that failed to lay out are known too: their error is reported already.
  for (const item of hoistInlineStructs(located)) {
    if (!laid.failed.has(item.decl.name)) continue;
    known.add(item.decl.name);
    for (const m of item.decl.members) {
      if (m.kind === 'bits') m.bits.forEach((b) => known.add(b.name));
      else if (m.kind !== 'marker') known.add(m.name);
    }
  }
  const hints = new NameHints(known);
  for (const n of collected.names) {
    if (NUMBER.test(n.name) || known.has(n.name)) continue;
    diag(
      `\`${n.name}\` is not a name of the model (struct, field, constant, group or statement ID)${hints.hint(n.name)}`,
      n.source,
      'unresolved-name',
    );
  }
  for (const s of statements) s.names = s.names.filter((n) => known.has(n));

  if (!collected.deviceId)
    diag(
      'The section "Device ID" must hold the device ID as a paragraph of its own',
      first,
      'model',
    );
  if (!collected.title) diag('The first file must start with a `#` title', first, 'model');
  if (diagnostics.length || !collected.deviceId || !collected.title) return { diagnostics };

  return {
    diagnostics,
    model: {
      title: collected.title,
      version: input.version,
      deviceId: collected.deviceId.value,
      sections: collected.sections,
      virtqueues,
      structs: laid.structs,
      constants,
      groups,
      statements,
      retiredIds: [...retired].sort(),
    },
  };
}

function defineToConstant(d: DefineDecl, section: string, source: SourcePlace): PendingConstant {
  return {
    name: d.name,
    value: d.value,
    expression: d.expression,
    ...(d.doc ? { doc: d.doc } : {}),
    section,
    source,
  };
}

function groupConstants(
  pending: PendingConstant[],
  diag: Report,
): { constants: Constant[]; groups: ConstantGroup[] } {
  const constants: Constant[] = [];
  const groups = new Map<string, ConstantGroup & { values: Map<number, string> }>();
  const seen = new Map<string, SourcePlace>();
  for (const p of pending) {
    const earlier = seen.get(p.name);
    if (earlier) {
      diag(
        `\`${p.name}\` is already defined at ${earlier.file}:${earlier.line}`,
        p.source,
        'duplicate-constant',
      );
      continue;
    }
    seen.set(p.name, p.source);
    const prefix = groupPrefix(p.name);
    if (!prefix) {
      diag(
        `\`${p.name}\` belongs to no group; name constants PREFIX_X_NAME, where X is one letter (T, S, F, R…)`,
        p.source,
        'constant-group',
      );
      continue;
    }
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
    const clash = group.values.get(p.value);
    if (clash) {
      diag(
        `\`${p.name}\` has the same value ${p.value} as \`${clash}\` in group \`${prefix}*\``,
        p.source,
        'constant-value',
      );
    }
    group.values.set(p.value, p.name);
    group.members.push(p.name);
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

function parseRequirement(
  req: CollectedRequirement,
  scenarioParser: ScenarioParser,
  diag: Report,
): Statement | undefined {
  const itemPlace = placeOf(req.file, req.item);
  if (!req.id) {
    diag(
      'A requirement item must start with its ID in inline code, such as `dev.attach.reserved`',
      itemPlace,
      'missing-id',
    );
    return undefined;
  }
  const id = req.id.value;
  const prefix = req.role === 'device' ? 'dev.' : 'drv.';
  if (!STATEMENT_ID.test(id)) {
    diag(
      `\`${id}\` is not a statement ID: write \`${prefix}topic.name\` in lower case with dots and dashes`,
      req.id.source,
      'bad-id',
    );
    return undefined;
  }
  if (!id.startsWith(prefix)) {
    diag(
      `\`${id}\` sits under ${req.role} statements, so its ID must start with \`${prefix}\``,
      req.id.source,
      'bad-id',
    );
    return undefined;
  }
  const level = statementLevel(req, req.id, diag);
  if (!level) return undefined;
  const text = req.paragraphs.map(plainText).join(' ').slice(id.length).trim();
  const names: string[] = [];
  req.paragraphs.forEach((p) =>
    p.children.forEach((c, i) => {
      if (
        c.type === 'inlineCode' &&
        !(p === req.paragraphs[0] && i === 0) &&
        !names.includes(c.value)
      )
        names.push(c.value);
    }),
  );
  const scenarios: Scenario[] = [];
  req.scenarios.forEach((code: Code, n) => {
    const { steps, errors } = scenarioParser.parse(code.value);
    for (const e of errors)
      diag(e.message, codePlace(req.file, code, e.line, e.column), 'scenario');
    scenarios.push({
      id: `${id}#${n + 1}`,
      source: placeOf(req.file, code),
      text: code.value,
      steps,
    });
  });
  return {
    id,
    role: req.role,
    level,
    section: req.section,
    text,
    names,
    scenarios,
    source: req.id.source,
  };
}

/**
 * The level of a requirement item: its one RFC 2119 keyword; or DEFINED for an item under a
 * "… definitions:" heading, which holds no keyword at all. Reports misuse and returns nothing.
 */
function statementLevel(
  req: CollectedRequirement,
  { value: id, source: idSource }: { value: string; source: SourcePlace },
  diag: Report,
): Level | undefined {
  const keywords = req.paragraphs.flatMap((p: Paragraph) => keywordsIn(req.file, p));
  const definedWords = req.paragraphs.flatMap((p: Paragraph) => definedWordsIn(req.file, p));
  const heading = req.role === 'device' ? 'Device' : 'Driver';
  if (req.definition) {
    if (keywords.length > 0) {
      diag(
        `Definition \`${id}\` holds the keyword ${keywords[0].keyword}; a definition states what an operation is, without a keyword. Write the sentence without it, or move the item under a "${heading} requirements: …" heading if the spec gives that keyword`,
        keywords[0].source,
        'definition-keyword',
      );
      return undefined;
    }
    return 'DEFINED';
  }
  if (definedWords.length > 0) {
    diag(
      keywords.length > 0
        ? `Requirement \`${id}\` holds both ${keywords[0].keyword} and DEFINED; a statement has one level. Drop DEFINED, or drop the keyword and move the item under a "${heading} definitions: …" heading`
        : `DEFINED is not a keyword of requirement items; move \`${id}\` under a "${heading} definitions: …" heading (the heading makes its level DEFINED), or write the word in lower case`,
      definedWords[0].source,
      'defined-in-requirement',
    );
    return undefined;
  }
  const unknown = keywords.find((k) => !(KEYWORD_LEVELS as readonly string[]).includes(k.keyword));
  if (unknown) {
    diag(
      `Use MUST, MUST NOT, SHOULD, SHOULD NOT or MAY instead of ${unknown.keyword}`,
      unknown.source,
      'keyword',
    );
    return undefined;
  }
  if (keywords.length !== 1) {
    diag(
      keywords.length === 0
        ? `Requirement \`${id}\` has no RFC 2119 keyword; say MUST, MUST NOT, SHOULD, SHOULD NOT or MAY, or, when the spec defines the behaviour without a keyword, move the item under a "${heading} definitions: …" heading`
        : `Requirement \`${id}\` has ${keywords.length} keywords (${keywords.map((k) => k.keyword).join(', ')}); split it into one item per keyword`,
      keywords[1]?.source ?? idSource,
      'keyword-count',
    );
    return undefined;
  }
  return keywords[0].keyword as Level;
}

function readRetired(file: VFile | undefined): Set<string> {
  const ids = new Set<string>();
  for (const line of String(file?.value ?? '').split('\n')) {
    const id = line.replace(/#.*$/, '').trim();
    if (id) ids.add(id);
  }
  return ids;
}

function knownNames(
  index: ModelIndex,
  constants: Constant[],
  groups: ConstantGroup[],
  ids: Map<string, SourcePlace>,
): Set<string> {
  const known = new Set<string>();
  for (const s of index.structs.values()) {
    known.add(s.name);
    known.add(`struct ${s.name}`);
    for (const path of index.fieldPaths(s.name).keys()) {
      known.add(path);
      known.add(`${s.name}.${path}`);
      // A nested path is also known by each of its tails: `input_range.start` → `start`.
      const parts = path.split('.');
      for (let i = 1; i < parts.length; i++) known.add(parts.slice(i).join('.'));
    }
    for (const f of s.fields) {
      known.add(f.name);
      known.add(`${s.name}.${f.name}`);
    }
  }
  for (const c of constants) known.add(c.name);
  for (const g of groups) known.add(`${g.prefix}*`);
  for (const id of ids.keys()) known.add(id);
  return known;
}
