// Structs of the spec: the C blocks' declarations laid out (layout.ts), checked against the
// constants that make some of them requests and against the configuration struct, and each
// laid-out struct marked on the line of its block that defines it (data.ts).

import type { VFile } from 'vfile';
import { requestConstantName, CONFIG_STRUCT } from '../model-facts.js';
import type { FilesByPath } from '../messages.js';
import type { Constant, Struct } from '../model.js';
import type { CBlock } from './c-block.js';
import type { CollectedCode } from './collect.js';
import { markStruct } from './data.js';
import { hoistInlineStructs, layoutStructs, type LocatedStruct } from './layout.js';
import { codePlace } from './markdown-walk.js';
import { ModelIndex } from './model-index.js';
import { checkVariableLengths, reportLayoutErrors } from './rules/layout.js';
import { checkConfigStruct, checkRequestStructs } from './rules/model.js';

export interface ParsedBlock {
  block: CollectedCode;
  parsed: CBlock;
}

interface BlockStruct extends LocatedStruct {
  block: CollectedCode;
}

export interface SpecStructs {
  structs: Struct[];
  index: ModelIndex;
  /** Structs that could not be laid out; their errors are reported. */
  failed: Set<string>;
  located: LocatedStruct[];
}

export function readStructs(
  blocks: readonly ParsedBlock[],
  constants: readonly Constant[],
  files: FilesByPath,
  first: VFile,
): SpecStructs {
  const located: BlockStruct[] = blocks.flatMap(({ block, parsed }) =>
    parsed.structs.map((decl) => ({
      decl,
      section: block.section,
      block,
      at: (p: { line: number; column: number }) =>
        codePlace(block.file, block.node, p.line, p.column),
    })),
  );
  const constantNames = new Set(constants.map((c) => c.name));
  const laid = layoutStructs(located, (name) => {
    const type = requestConstantName(name);
    return constantNames.has(type) ? type : undefined;
  });
  reportLayoutErrors(laid.errors, files);
  const index = new ModelIndex(laid.structs, [...constants]);
  checkConfigStruct(index, laid.errors.length > 0, first);
  checkVariableLengths(laid.structs, index.fieldPaths(CONFIG_STRUCT), laid.failed, files);
  checkRequestStructs(constants, index, laid.failed, files);

  const definedBy = new Map<string, BlockStruct>();
  for (const item of hoistInlineStructs(located))
    if (!definedBy.has(item.decl.name)) definedBy.set(item.decl.name, item);
  for (const s of laid.structs) {
    const item = definedBy.get(s.name)!;
    markStruct(item.block.node, item.decl.place.line, s.name);
  }
  return { structs: laid.structs, index, failed: laid.failed, located };
}
