// printable(): every control character that came from outside is written as an escape.

import assert from 'node:assert/strict';
import { printable } from '../report/printable.js';

describe('printable', () => {
  it('escapes C0 and C1 controls, DEL and the bidi controls, and leaves text alone', () => {
    assert.equal(printable('plain `virt_start`, é, 中'), 'plain `virt_start`, é, 中');
    assert.equal(printable('\x1b[2J\x07\r\t\x00'), '\\x1b[2J\\x07\\x0d\\x09\\x00');
    assert.equal(printable('a\x7fb\x9bc\x85'), 'a\\x7fb\\x9bc\\x85');
    assert.equal(printable('x\u202ey\u2066z\u061c'), 'x\\u202ey\\u2066z\\u061c');
  });

  it('keeps newlines only when asked to, and escapes within each line', () => {
    assert.equal(printable('one\ntwo'), 'one\\x0atwo');
    assert.equal(printable('one\x1b\ntwo\r', true), 'one\\x1b\ntwo\\x0d');
  });
});
