// Resolves a historic version of spec-src/versions/ into a full model: follows its `base:`
// chain to the root, applies each version's changes in order to the struct and constant
// declarations, lays the result out with that version's C rules, and validates the model
// with the same schema as the current spec. Every mistake of the chain is reported at once,
// with its file:line:col; nothing is returned then.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { VFile } from 'vfile';
import type {
  Constant,
  ConstantGroup,
  Section,
  SourcePlace,
  SpecModel,
  Statement,
} from '../model.js';
import { FilesByPath, hasErrors } from '../messages.js';
import {
  didYouMean,
  layoutStructs,
  type DefineDecl,
  type LocatedStruct,
  type MemberDecl,
  type Place,
  type StructDecl,
} from '../parse/index.js';
import { CONFIG_STRUCT, FEATURE_GROUP, groupPrefix, requestConstantName } from '../model-facts.js';
import { describeErrors, validator } from '../schemas.js';
import { readVersionDoc, type VersionDoc } from './version-doc.js';

/** The name that stands for the spec in spec-src/ itself. */
export const CURRENT = 'current';
export const VERSIONS_FOLDER = 'versions';

export interface VersionResult {
  model?: SpecModel;
  /** The files read, and any other file an error is about: the errors are their messages. */
  files: VFile[];
}

/** The historic versions in spec-src/versions/, in chain order (root first), then any others by name. */
export function listVersions(specDir: string): string[] {
  const dir = join(specDir, VERSIONS_FOLDER);
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.md') && n.toLowerCase() !== 'readme.md')
    .map((n) => n.slice(0, -3));
  const bases = new Map<string, string | undefined>();
  for (const n of names) {
    const text = readFileSync(join(dir, `${n}.md`), 'utf8');
    const base = /^base:[ \t]*(\S+)/m.exec(text)?.[1];
    bases.set(n, base === 'none' ? undefined : base);
  }
  const depth = (n: string, seen = new Set<string>()): number => {
    const b = bases.get(n);
    if (b === undefined || !bases.has(b) || seen.has(n)) return 0;
    seen.add(n);
    return 1 + depth(b, seen);
  };
  return names.sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

interface StructEntry {
  decl: StructDecl;
  section: string;
  at(place: Place): SourcePlace;
}

interface ConstantEntry {
  decl: DefineDecl;
  section: string;
  source: SourcePlace;
}

/** A struct declaration without inline definitions: those are entries of their own. */
function flatten(decl: StructDecl): { outer: StructDecl; inner: StructDecl[] } {
  const inner: StructDecl[] = [];
  const members = decl.members.map((m): MemberDecl => {
    if (m.kind !== 'struct' || !m.inline) return m;
    const nested = flatten(m.inline);
    inner.push(...nested.inner, nested.outer);
    return {
      kind: 'struct',
      struct: m.struct,
      name: m.name,
      place: m.place,
      ...(m.doc ? { doc: m.doc } : {}),
    };
  });
  return { outer: { ...decl, members }, inner };
}

/**
 * Reads `name` and its bases. `baseDir` makes the paths in places relative (the package
 * folder, or the folder the command runs in).
 */
export function resolveVersion(
  specDir: string,
  name: string,
  baseDir: string,
  modelVersion: string,
  current: Pick<SpecModel, 'deviceId' | 'statements' | 'retiredIds'>,
): VersionResult {
  const dir = join(specDir, VERSIONS_FOLDER);
  const reported = new FilesByPath();
  const known = listVersions(specDir);
  const chain: VersionDoc[] = [];
  const seen = new Set<string>();
  let next: { name: string; from?: SourcePlace } | undefined = { name };
  while (next) {
    const path = join(dir, `${next.name}.md`);
    if (!existsSync(path)) {
      const message = `There is no version \`${next.name}\` (spec-src/${VERSIONS_FOLDER}/${next.name}.md)${didYouMean(next.name, [...known, CURRENT])}`;
      reported.error(
        message,
        next.from ?? {
          file: `${relative(baseDir, dir) || dir}/${next.name}.md`,
          line: 1,
          column: 1,
        },
        'version-base',
      );
      break;
    }
    if (seen.has(next.name)) {
      reported.error(
        `The version chain loops: ${[...chain.map((d) => d.name), next.name].join(' → ')}; one version must have \`base: none\``,
        next.from!,
        'version-loop',
      );
      break;
    }
    seen.add(next.name);
    const file = new VFile({
      path: relative(baseDir, path) || path,
      value: readFileSync(path, 'utf8'),
    });
    reported.add(file);
    const doc = readVersionDoc(file, next.name);
    chain.push(doc);
    next = doc.base ? { name: doc.base.name, from: doc.base.source } : undefined;
  }
  if (hasErrors(reported.files)) return { files: reported.files };
  chain.reverse();

  const structs = new Map<string, StructEntry>();
  const constants = new Map<string, ConstantEntry>();
  const sections = new Map<string, Section>();
  let statements = new Map<string, Statement>();
  for (const [i, doc] of chain.entries()) {
    const baseName = chain[i - 1]?.name;
    const report = (message: string, source: SourcePlace, rule = 'version-change') =>
      reported.error(message, source, rule);
    const lacks = (what: string) =>
      `${baseName ? `its base ${baseName}` : 'this first version (`base: none`)'} has no \`${what}\``;
    for (const s of doc.sections) {
      if (!sections.has(s.slug))
        sections.set(s.slug, { slug: s.slug, title: s.title, depth: 2, source: s.source });
    }
    for (const r of doc.removed) {
      if (structs.delete(r.name) || constants.delete(r.name)) continue;
      report(
        `Cannot remove \`${r.name}\`: ${lacks(r.name)}${didYouMean(r.name, [...structs.keys(), ...constants.keys()])}`,
        r.source,
      );
    }
    for (const { from, to } of doc.renamed) {
      const c = constants.get(from.name);
      const s = structs.get(from.name);
      if (!c && !s) {
        report(
          `Cannot rename \`${from.name}\`: ${lacks(from.name)}${didYouMean(from.name, [...structs.keys(), ...constants.keys()])}`,
          from.source,
        );
      } else if (structs.has(to.name) || constants.has(to.name)) {
        report(`Cannot rename to \`${to.name}\`: the base already has it`, to.source);
      } else if (c) {
        renameKey(constants, from.name, to.name, {
          ...c,
          decl: { ...c.decl, name: to.name },
          source: to.source,
        });
      } else if (s) {
        renameKey(structs, from.name, to.name, { ...s, decl: { ...s.decl, name: to.name } });
        for (const e of structs.values()) {
          e.decl = {
            ...e.decl,
            members: e.decl.members.map((m) =>
              m.kind === 'struct' && m.struct === from.name ? { ...m, struct: to.name } : m,
            ),
          };
        }
      }
    }
    for (const c of doc.constants) {
      const name = c.decl.name;
      if (c.kind === 'added' && constants.has(name))
        report(`\`${name}\` is already in ${baseName}; put it under \`## Changed: …\``, c.source);
      else if (c.kind === 'changed' && !constants.has(name))
        report(`Cannot change \`${name}\`: ${lacks(name)}; put it under \`## Added: …\``, c.source);
      else constants.set(name, { decl: c.decl, section: c.section, source: c.source });
    }
    // Scenarios are the current spec's examples, run against today's ABI: a version's
    // statements carry none.
    if (doc.statementsFrom)
      statements = new Map(current.statements.map((s) => [s.id, { ...s, scenarios: [] }]));
    const statementsOf = doc.statementsFrom
      ? 'the current spec'
      : baseName
        ? `its base ${baseName}`
        : 'this first version';
    for (const r of doc.removedStatements) {
      if (statements.delete(r.name)) continue;
      report(
        `Cannot remove statement \`${r.name}\`: ${statementsOf} has no such statement${didYouMean(r.name, statements.keys())}`,
        r.source,
      );
    }
    for (const { kind, statement } of doc.statements) {
      if (kind === 'added' && statements.has(statement.id))
        report(
          `Statement \`${statement.id}\` is already in ${statementsOf}; put it under \`## Changed: …\``,
          statement.source,
        );
      else if (kind === 'changed' && !statements.has(statement.id))
        report(
          `Cannot change statement \`${statement.id}\`: ${statementsOf} has no such statement; put it under \`## Added: …\`${didYouMean(statement.id, statements.keys())}`,
          statement.source,
        );
      else statements.set(statement.id, statement);
    }
    for (const s of doc.structs) {
      const { outer, inner } = flatten(s.decl);
      if (s.kind === 'added' && structs.has(outer.name))
        report(
          `Struct \`${outer.name}\` is already in ${baseName}; put it under \`## Changed: …\``,
          s.at(outer.place),
        );
      else if (s.kind === 'changed' && !structs.has(outer.name))
        report(
          `Cannot change struct \`${outer.name}\`: ${lacks(outer.name)}; put it under \`## Added: …\``,
          s.at(outer.place),
        );
      for (const d of [...inner, outer])
        structs.set(d.name, { decl: d, section: s.section, at: s.at });
    }
  }
  // IDs are never lost: a statement a version has is the current spec's, or its ID is retired.
  const retired = new Set(current.retiredIds);
  const today = new Set(current.statements.map((s) => s.id));
  for (const s of statements.values()) {
    if (today.has(s.id) || retired.has(s.id)) continue;
    reported.error(
      `Statement \`${s.id}\` is neither in the current spec nor retired: an ID is never lost, so add it to spec-src/retired-ids.txt`,
      s.source,
      'lost-id',
    );
  }
  if (hasErrors(reported.files)) return { files: reported.files };

  const grouped = groupConstants([...constants.values()]);
  const constantNames = new Set(grouped.constants.map((c) => c.name));
  const layout = chain[chain.length - 1].layout;
  const laid = layoutStructs(
    dependencyOrder(structs),
    (n) => (constantNames.has(requestConstantName(n)) ? requestConstantName(n) : undefined),
    layout,
  );
  for (const e of laid.errors) reported.error(e.message, e.source, 'layout');
  const target = chain[chain.length - 1];
  const at = { file: reported.files[0].path, line: 1, column: 1 };
  if (!structs.has(CONFIG_STRUCT))
    reported.error(`Version ${name} defines no \`struct ${CONFIG_STRUCT}\``, at, 'model');
  if (hasErrors(reported.files)) return { files: reported.files };

  const model: SpecModel = {
    title: target.title,
    version: modelVersion,
    specVersion: name,
    layout,
    deviceId: current.deviceId,
    sections: [...sections.values()],
    virtqueues: [],
    structs: laid.structs,
    constants: grouped.constants,
    groups: grouped.groups,
    statements: [...statements.values()],
    retiredIds: [],
  };
  const validate = validator('spec-model.schema.json');
  if (!validate(model)) {
    for (const message of describeErrors(validate.errors))
      reported.error(
        `The model of ${name} does not match schemas/spec-model.schema.json: ${message}`,
        at,
        'schema',
      );
    return { files: reported.files };
  }
  return { model, files: reported.files };
}

/** Replaces `from` by `to` in place, so that a renamed item keeps its position. */
function renameKey<V>(map: Map<string, V>, from: string, to: string, value: V): void {
  const entries = [...map].map(([k, v]): [string, V] => (k === from ? [to, value] : [k, v]));
  map.clear();
  for (const [k, v] of entries) map.set(k, v);
}

/** Each struct after the structs it uses (layout needs them first), otherwise in definition order. */
function dependencyOrder(structs: Map<string, StructEntry>): LocatedStruct[] {
  const out: LocatedStruct[] = [];
  const done = new Set<string>();
  const visit = (name: string) => {
    const e = structs.get(name);
    if (!e || done.has(name)) return;
    done.add(name);
    for (const m of e.decl.members) if (m.kind === 'struct') visit(m.struct);
    out.push({ decl: e.decl, section: e.section, at: e.at });
  };
  for (const name of structs.keys()) visit(name);
  return out;
}

/** Groups as the current spec forms them: by prefix; `_F_` is the feature bits, `<<` makes flags. */
function groupConstants(entries: ConstantEntry[]): {
  constants: Constant[];
  groups: ConstantGroup[];
} {
  const constants: Constant[] = [];
  const groups = new Map<string, ConstantGroup>();
  for (const { decl, section, source } of entries) {
    const prefix = groupPrefix(decl.name) ?? decl.name;
    let group = groups.get(prefix);
    if (!group) {
      group = {
        prefix,
        kind: prefix === FEATURE_GROUP ? 'feature' : 'enum',
        section,
        members: [],
      };
      groups.set(prefix, group);
    }
    if (decl.expression.includes('<<') && group.kind === 'enum') group.kind = 'flags';
    group.members.push(decl.name);
    constants.push({
      name: decl.name,
      value: decl.value,
      expression: decl.expression,
      group: prefix,
      ...(decl.doc ? { doc: decl.doc } : {}),
      section,
      source,
    });
  }
  return { constants, groups: [...groups.values()] };
}

/**
 * Every version of a spec folder as a model, oldest first, with the current spec last under
 * the name `current`; and the files of every version read, whose messages say why one does
 * not resolve.
 */
export function allVersions(
  specDir: string,
  baseDir: string,
  modelVersion: string,
  current: SpecModel,
): { versions: { name: string; model: SpecModel }[]; files: VFile[] } {
  const versions: { name: string; model: SpecModel }[] = [];
  const files: VFile[] = [];
  for (const name of listVersions(specDir)) {
    const r = resolveVersion(specDir, name, baseDir, modelVersion, current);
    if (r.model) versions.push({ name, model: r.model });
    else files.push(...r.files.filter((f) => f.messages.length > 0));
  }
  versions.push({ name: CURRENT, model: current });
  return { versions, files };
}
