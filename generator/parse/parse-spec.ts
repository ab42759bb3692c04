// spec-src → model, as a pipeline: parse each file once into mdast, collect what the dialect
// gives meaning to, read the constants, lay out the structs, read the statements with their
// scenarios, and resolve every inline name. Each check is a rule of rules/ that reports on the
// file it is about (vfile messages); parsing goes on after one, so a run reports every mistake.
// The trees go on, marked with the model items their nodes define (data.ts), for the renderer.

import type { Root } from 'mdast';
import type { VFile } from 'vfile';
import { FilesByPath, hasErrors } from '../messages.js';
import type { SpecModel } from '../model.js';
import { parseCBlock } from './c-block.js';
import { collect } from './collect.js';
import { definedConstants, groupConstants, readTables } from './constants.js';
import { parseMarkdown } from './markdown-walk.js';
import { knownNames } from './names.js';
import { reportCSyntax } from './rules/c-syntax.js';
import { checkDuplicateSections } from './rules/duplicate-section.js';
import { checkKeywordsOutsideRequirements } from './rules/keyword-outside-requirement.js';
import { titleAndDeviceId } from './rules/model.js';
import { checkStrayCode } from './rules/stray-code.js';
import { checkStrayScenarios } from './rules/stray-scenario.js';
import { checkNamesResolve } from './rules/unresolved-name.js';
import { ScenarioParser } from './scenario.js';
import { readRetired, readStatements } from './statements.js';
import { readStructs, type ParsedBlock } from './structs.js';

export interface ParseInput {
  /** spec-src Markdown files, in reading order. */
  files: VFile[];
  /** IDs retired from use, one per line (`#` comments allowed). */
  retiredIds?: VFile;
  version: string;
}

export interface ParseResult {
  /** Absent when any rule reported. */
  model?: SpecModel;
  /** The input files with the messages of the run, and any file a message is about besides. */
  files: VFile[];
  /** The files as mdast, in the same order, their nodes marked with the items they define. */
  trees: Root[];
}

export function parseSpec(input: ParseInput): ParseResult {
  const trees = input.files.map((file) => parseMarkdown(file));
  const files = new FilesByPath(input.files);
  // Where a mistake of the whole spec (a missing title or struct) is reported.
  const first = files.file(input.files[0]?.path ?? 'spec-src');

  const collected = collect(input.files, trees);
  checkDuplicateSections(collected.headings);
  checkKeywordsOutsideRequirements(collected.prose);
  checkStrayScenarios(collected.prose);
  checkStrayCode(collected.requirements);

  const blocks: ParsedBlock[] = collected.codeBlocks.map((block) => {
    const parsed = parseCBlock(block.node.value);
    reportCSyntax(block, parsed.errors);
    return { block, parsed };
  });
  const tables = readTables(collected.tables);
  const { constants, groups } = groupConstants([
    ...blocks.flatMap(({ block, parsed }) => definedConstants(block, parsed)),
    ...tables.constants,
  ]);
  const { structs, index, failed, located } = readStructs(blocks, constants, files, first);

  const retired = readRetired(input.retiredIds);
  const scenarioParser = new ScenarioParser(index, failed);
  const { statements, ids } = readStatements(collected.requirements, scenarioParser, retired);
  const known = knownNames(index, constants, groups, ids, located, failed);
  checkNamesResolve(collected.names, known);
  for (const s of statements) s.names = s.names.filter((n) => known.has(n));

  const whole = titleAndDeviceId(collected, first);
  if (hasErrors(files.files) || !whole) return { files: files.files, trees };
  return {
    files: files.files,
    trees,
    model: {
      title: whole.title,
      version: input.version,
      deviceId: whole.deviceId,
      sections: collected.headings.map((h) => h.section),
      virtqueues: tables.virtqueues,
      structs,
      constants,
      groups,
      statements,
      retiredIds: [...retired].sort(),
    },
  };
}
