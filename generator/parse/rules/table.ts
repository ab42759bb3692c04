// `table`: the first column of a constants table (bit|name|meaning, value|name|meaning) holds
// the constant's value, a number.

import type { TableCell } from 'mdast';
import type { VFile } from 'vfile';
import { specError } from '../../messages.js';
import { plainText } from '../markdown-walk.js';

const NUMBER = /^(0x[0-9a-fA-F]+|[0-9]+)$/;

/** The number `cell` holds, as written; undefined, and reported, when it is not a number. */
export function tableValue(file: VFile, cell: TableCell): string | undefined {
  const value = plainText(cell);
  if (NUMBER.test(value)) return value;
  specError(
    file,
    `\`${value}\` is not a number; the first column of this table holds values`,
    cell,
    'table',
  );
  return undefined;
}
