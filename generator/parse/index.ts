// The parser's public entry: spec-src → model (parseSpec) with drafts, and the pieces of the
// spec's notation the version documents of spec-src/versions/ are read with. Nothing outside
// parse/ imports its other modules.

export { parseSpec, type ParseInput, type ParseResult } from './parse-spec.js';
export { markDrafts, readDraftStatus, type DraftFile, type DraftStatus } from './drafts.js';
export type { CodeDefinition } from './data.js';
export {
  parseCBlock,
  type DefineDecl,
  type MemberDecl,
  type Place,
  type StructDecl,
} from './c-block.js';
export { keywordsIn } from './keywords.js';
export { layoutStructs, type LocatedStruct } from './layout.js';
export { codePlace, parseMarkdown, placeOf, plainText } from './markdown-walk.js';
export { didYouMean } from './model-index.js';
