// What the parser tells the stages after it about the Markdown: the mdast nodes that define
// model items carry them in `node.data`, so the renderer runs on the parsed trees and finds each
// statement, section, struct and constant on its node, with no second parse and no look-up by
// file:line:col.

import type { Code, TableRow } from 'mdast';

/** A struct or a constant a C block defines, on a line of the block (0-based). */
export interface CodeDefinition {
  line: number;
  struct?: string;
  constant?: string;
}

declare module 'mdast' {
  interface HeadingData {
    /** The slug of the section the heading opens, as the model's sections carry it. */
    section?: string;
  }
  interface ListItemData {
    /** The ID of the statement the requirement item states. */
    statement?: string;
  }
  interface CodeData {
    /** The structs and constants the C block defines, in the order they were accepted. */
    definitions?: CodeDefinition[];
  }
  interface TableRowData {
    /** The constant the row defines. */
    constant?: string;
  }
}

/** Where a constant is defined: a line of a C block, or a row of a table. */
export type DefinitionSite = { node: Code; line: number } | { node: TableRow };

// A block may define thousands of constants: each definition is pushed, never copied over.
function definitionsOf(block: Code): CodeDefinition[] {
  block.data ??= {};
  return (block.data.definitions ??= []);
}

export function markStruct(block: Code, line: number, struct: string): void {
  definitionsOf(block).push({ line, struct });
}

export function markConstant(site: DefinitionSite, constant: string): void {
  if ('line' in site) definitionsOf(site.node).push({ line: site.line, constant });
  else site.node.data = { ...site.node.data, constant };
}
