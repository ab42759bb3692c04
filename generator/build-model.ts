// Reads spec-src/, parses it into the model and validates it. Returns the model or every
// diagnostic of the run; writes nothing.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { VFile } from 'vfile';
import type { Diagnostic } from './parse/collect.js';
import { parseSpec } from './parse/parse-spec.js';
import type { SpecModel, Statement } from './model.js';
import { describeErrors, validator } from './schemas.js';

export interface SpecSources {
  files: VFile[];
  retiredIds?: VFile;
}

export interface BuildResult {
  model?: SpecModel;
  diagnostics: Diagnostic[];
  sources: SpecSources;
}

/** Markdown files of spec-src that are about the spec, not part of it. */
const NOT_SPEC = /^(readme|changelog)\.md$/i;

/**
 * The Markdown files of `specDir` in name order (README.md and CHANGELOG.md aside); paths are
 * relative to `baseDir`.
 */
export function readSpecSources(specDir: string, baseDir: string): SpecSources {
  const path = (name: string) => relative(baseDir, join(specDir, name)) || name;
  const files = readdirSync(specDir)
    .filter((n) => n.endsWith('.md') && !NOT_SPEC.test(n))
    .sort()
    .map((n) => new VFile({ path: path(n), value: readFileSync(join(specDir, n), 'utf8') }));
  const retiredPath = join(specDir, 'retired-ids.txt');
  const retiredIds = existsSync(retiredPath)
    ? new VFile({ path: path('retired-ids.txt'), value: readFileSync(retiredPath, 'utf8') })
    : undefined;
  return { files, retiredIds };
}

export function buildModel(sources: SpecSources, version: string): BuildResult {
  const { model, diagnostics } = parseSpec({ ...sources, version });
  if (!model) return { diagnostics, sources };
  const validate = validator('spec-model.schema.json');
  if (!validate(model)) {
    const at = { file: sources.files[0]?.path ?? 'spec-src', line: 1, column: 1 };
    return {
      sources,
      diagnostics: describeErrors(validate.errors).map((message) => ({
        message: `The model does not match schemas/spec-model.schema.json: ${message}`,
        source: at,
        rule: 'schema',
      })),
    };
  }
  return { model, diagnostics, sources };
}

export interface CaseStatement extends Statement {
  sectionTitle: string;
}

export interface Cases {
  title: string;
  version: string;
  statements: CaseStatement[];
}

/** dist/cases.json: the statements with their section titles and scenarios. */
export function casesOf(model: SpecModel): Cases {
  const titles = new Map(model.sections.map((s) => [s.slug, s.title]));
  return {
    title: model.title,
    version: model.version,
    statements: model.statements.map((s) => ({
      ...s,
      sectionTitle: titles.get(s.section) ?? s.section,
    })),
  };
}
