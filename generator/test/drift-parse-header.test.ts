// The C header parser of drift: what it reads of defines, structs and their fields, each with
// its line.

import assert from 'node:assert/strict';
import { parseHeader } from '../drift/parse-header.js';

describe('the header parser', () => {
  it('reads defines with continuation lines, structs, arrays, bit-fields and several declarators', () => {
    const h = parseHeader(
      [
        '/* a comment with #define FAKE 1 */',
        '#define A (1 << 2) /* trailing */',
        '#define B (A | \\',
        '\t 1)',
        '#define F(x) ((x) + 1)',
        'struct s {',
        '\t__extension__ __u8 flex[];',
        '\tstruct t inner; // comment',
        '\t__u16 a : 3, b : 13;',
        '\t__le32 x[A], y;',
        '};',
      ].join('\n'),
      'h.h',
    );
    assert.deepEqual(
      h.defines.map((d) => [d.name, d.body, d.functionLike, d.place.line]),
      [
        ['A', '(1 << 2)', false, 2],
        ['B', '(A | 1)', false, 3],
        ['F', '((x) + 1)', true, 5],
      ],
    );
    assert.deepEqual(
      h.structs[0].fields.map((f) => [f.name, f.type, f.count, f.bits, f.place.line]),
      [
        ['flex', '__u8', '', undefined, 7],
        ['inner', 'struct t', undefined, undefined, 8],
        ['a', '__u16', undefined, '3', 9],
        ['b', '__u16', undefined, '13', 9],
        ['x', '__le32', 'A', undefined, 10],
        ['y', '__le32', undefined, undefined, 10],
      ],
    );
  });
});
