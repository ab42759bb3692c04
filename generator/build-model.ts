// Parses spec sources (spec-sources.ts reads them) into the model and validates it. Returns the model or every
// diagnostic of the run; writes nothing.

import type { Diagnostic } from './parse/collect.js';
import { parseSpec } from './parse/parse-spec.js';
import type { SpecModel, Statement } from './model.js';
import { describeErrors, validator } from './schemas.js';
import type { SpecSources } from './spec-sources.js';

export interface BuildResult {
  model?: SpecModel;
  diagnostics: Diagnostic[];
  sources: SpecSources;
}

export function buildModel(sources: SpecSources, version: string): BuildResult {
  // A spec with a file missing would give errors that are only echoes of the missing file.
  if (sources.problems.length) return { diagnostics: sources.problems, sources };
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
