// The safe pieces of generated code: names are checked, text is quoted or neutralized by
// one helper each, so nothing from the spec can break out of a comment or a string.

import assert from 'node:assert/strict';
import { cExpression, code, comment, ident, quote, tabAlign } from '../emit/codegen.js';
import { evaluateCExpression } from '../c-expression.js';

describe('codegen', () => {
  it('accepts identifiers and rejects what is not one, keywords and reserved names', () => {
    assert.equal(ident('virt_start', 'c').toString(), 'virt_start');
    assert.equal(ident('type', 'ts-property').toString(), 'type');
    for (const [name, kind] of [
      ['a-b', 'c'],
      ['1x', 'ts'],
      ['x y', 'ts-property'],
      ['class', 'c'],
      ['delete', 'c'],
      ['_Bool', 'c'],
      ['function', 'ts'],
      ['type', 'ts'],
      ['__u8', 'c'],
    ] as const) {
      assert.throws(() => ident(name, kind), /identifier|keyword|reserved/, `${name} as ${kind}`);
    }
  });

  it('quotes strings with one helper and keeps comments closed', () => {
    for (const text of [`it's`, 'a"b', 'back\\slash', 'line\nbreak', '\u2028', '${x}']) {
      const literal = quote(text).toString();
      assert.match(literal, /^'.*'$/s);
      assert.equal(new Function(`return ${literal};`)(), text, literal);
    }
    assert.equal(
      comment('ends */ early\nand goes on').toString(),
      '/* ends * / early and goes on */',
    );
    const long = comment('word '.repeat(40), '\t');
    assert.ok(
      long
        .toString()
        .split('\n')
        .every((l) => l.replace(/\t/g, '        ').length <= 88),
    );
    assert.match(long.toString(), /^\t\/\*\n(\t \* .*\n)+\t \*\/$/);
  });

  it('takes only integer expressions for #define values', () => {
    assert.equal(cExpression('(1 << 2)').toString(), '(1 << 2)');
    for (const bad of ['1 /* x */', '1 // x', '"s"', '1\n#include <x>', '0x'])
      assert.throws(() => cExpression(bad), /integer expression/);
  });

  it('refuses anything but Code and safe integers in a template', () => {
    assert.equal(code`a${1}b${ident('x', 'c')}`.toString(), 'a1bx');
    assert.throws(() => code`${0.5}`, /safe integer/);
  });

  it('aligns with tabs the way the kernel does', () => {
    assert.equal(tabAlign(code`#define A`, code`1`, 48).toString(), '#define A\t\t\t\t\t1');
    assert.equal(
      tabAlign(code`#define VIRTIO_IOMMU_PROBE_PROPERTY_TYPE_MASK`, code`1`, 48).toString(),
      '#define VIRTIO_IOMMU_PROBE_PROPERTY_TYPE_MASK\t1',
    );
  });
});

describe('C integer expressions', () => {
  it('evaluates numbers, suffixes, names and operators with C precedence', () => {
    const names = new Map([
      ['A', 1n],
      ['B', 4n],
    ]);
    const ev = (text: string) => evaluateCExpression(text, (n) => names.get(n));
    assert.equal(ev('(1 << 8)'), 256n);
    assert.equal(ev('0x10UL'), 16n);
    assert.equal(ev('(A | B | 2)'), 7n);
    assert.equal(ev('1 + 2 * 3'), 7n);
    assert.equal(ev('1 | 2 & 0'), 1n);
    assert.equal(ev('~0 & 0xff'), 255n);
    assert.equal(ev('-1'), -1n);
    // A macro body may keep the blanks around it (`#define X 4 /* c */` leaves `4 `).
    assert.equal(ev(' (1 << 2) '), 4n);
    assert.equal(ev('A\t'), 1n);
    for (const bad of ['', ' ', '1 +', '(1', 'C', '"x"', '1 / 0', 'f(1)', '1 @', '1 2'])
      assert.equal(ev(bad), undefined, bad);
  });
});
