// Parses spec sources (spec-sources.ts reads them) into the model and validates it. Returns the
// model, or the files with every error of the run as their messages; writes nothing.

import type { Root } from 'mdast';
import type { VFile } from 'vfile';
import type { Cases } from '../dist/ts/schemas/cases.js';
import { FilesByPath, hasErrors } from './messages.js';
import { markDrafts, parseSpec, readDraftStatus, type DraftFile } from './parse/index.js';
import type { SpecModel } from './model.js';
import { describeErrors, validator } from './schemas.js';
import type { SpecSources } from './spec-sources.js';

export interface BuildResult {
  /** Absent when the spec has errors: they are messages on `files`. */
  model?: SpecModel;
  /** Every file read, with the messages of the run, and any other file a message is about. */
  files: VFile[];
  /** The spec files as parsed, nodes marked with the model items they define; absent when not parsed. */
  trees?: Root[];
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
  if (hasErrors(sources.problems)) return { files: sources.problems, sources };
  const drafts: DraftFile[] = [];
  let badStatus = false;
  const specFiles = sources.files.filter((file) => {
    const status = readDraftStatus(file);
    if (status.kind === 'spec') return true;
    if (status.kind === 'bad') {
      badStatus = true;
      return false;
    }
    drafts.push(status.draft);
    return options.drafts === true;
  });
  const read: SpecSources = { ...sources, files: specFiles };
  const { model, files, trees } = parseSpec({ ...read, version });
  // The draft files and the retired IDs carry messages too; a draft left out is still reported on.
  const reported = new FilesByPath([...files, ...sources.files]).files;
  if (model && options.drafts) markDrafts(model, drafts);
  if (!model || badStatus || hasErrors(reported)) return { files: reported, trees, sources: read };
  const validate = validator('spec-model.schema.json');
  if (!validate(model)) {
    const schemaErrors = new FilesByPath(reported);
    const at = { file: read.files[0]?.path ?? 'spec-src', line: 1, column: 1 };
    for (const message of describeErrors(validate.errors))
      schemaErrors.error(
        `The model does not match schemas/spec-model.schema.json: ${message}`,
        at,
        'schema',
      );
    return { files: schemaErrors.files, trees, sources: read };
  }
  return { model, files: reported, trees, sources: read };
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
