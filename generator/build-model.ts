// Parses spec sources (spec-sources.ts reads them) into the model and validates it. Returns the model or every
// diagnostic of the run; writes nothing.

import type { Diagnostic } from './parse/collect.js';
import { isDraftFile, markDrafts, readDraftStatus, type DraftFile } from './parse/drafts.js';
import { parseSpec } from './parse/parse-spec.js';
import type { Cases } from '../dist/ts/schemas/cases.js';
import type { SpecModel } from './model.js';
import { describeErrors, validator } from './schemas.js';
import type { SpecSources } from './spec-sources.js';

export interface BuildResult {
  model?: SpecModel;
  diagnostics: Diagnostic[];
  sources: SpecSources;
}

export interface BuildOptions {
  /** Read the draft files too (`--drafts`); without it they are left out entirely. */
  drafts?: boolean;
}

export function buildModel(
  sources: SpecSources,
  version: string,
  options: BuildOptions = {},
): BuildResult {
  // A spec with a file missing would give errors that are only echoes of the missing file.
  if (sources.problems.length) return { diagnostics: sources.problems, sources };
  const statusErrors: Diagnostic[] = [];
  const drafts: DraftFile[] = [];
  const specFiles = sources.files.filter((file) => {
    const status = readDraftStatus(file);
    if (status === undefined) return true;
    if (!isDraftFile(status)) {
      statusErrors.push(status);
      return false;
    }
    drafts.push(status);
    return options.drafts === true;
  });
  const read: SpecSources = { ...sources, files: specFiles };
  const { model, diagnostics } = parseSpec({ ...read, version });
  diagnostics.unshift(...statusErrors);
  if (model && options.drafts) diagnostics.push(...markDrafts(model, drafts));
  if (!model || diagnostics.length) return { diagnostics, sources: read };
  const validate = validator('spec-model.schema.json');
  if (!validate(model)) {
    const at = { file: read.files[0]?.path ?? 'spec-src', line: 1, column: 1 };
    return {
      sources: read,
      diagnostics: describeErrors(validate.errors).map((message) => ({
        message: `The model does not match schemas/spec-model.schema.json: ${message}`,
        source: at,
        rule: 'schema',
      })),
    };
  }
  return { model, diagnostics, sources: read };
}

export type { Cases } from '../dist/ts/schemas/cases.js';

/** dist/cases.json: the statements with their section titles and scenarios. */
export function casesOf(model: SpecModel): Cases {
  const titles = new Map(model.sections.map((s) => [s.slug, s.title]));
  return {
    title: model.title,
    version: model.version,
    ...(model.drafts ? { drafts: model.drafts } : {}),
    statements: model.statements.map((s) => ({
      ...s,
      sectionTitle: titles.get(s.section) ?? s.section,
    })),
  };
}
