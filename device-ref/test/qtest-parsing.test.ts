import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSigned64, parseUnsigned64 } from '../qtest/c-number.js';
import { decodeLenientBase64, decodeQtestHex } from '../qtest/data-encoding.js';
import { formatListenAddress, parseListenAddress } from '../qtest/listen-address.js';

describe('qtest numbers (strtoull/strtoll with base 0, whole word)', () => {
  const u64 = (word: string) => parseUnsigned64(word);

  it('reads hex, octal and decimal', () => {
    assert.equal(u64('0x1F'), 31n);
    assert.equal(u64('0X1f'), 31n);
    assert.equal(u64('010'), 8n);
    assert.equal(u64('0'), 0n);
    assert.equal(u64('42'), 42n);
    assert.equal(u64('0xffffffffffffffff'), 0xffffffffffffffffn);
  });

  it('takes C whitespace before the number and a sign', () => {
    assert.equal(u64('\t7'), 7n);
    assert.equal(u64('+5'), 5n);
    assert.equal(u64('-1'), 0xffffffffffffffffn, 'a minus sign wraps, as strtoull does');
    assert.equal(u64('-0x10'), 0xfffffffffffffff0n);
  });

  it('refuses what strtoull would not consume entirely', () => {
    for (const word of ['', '0x', '08', '12a', '0xg', '1 ', '5\r', '-', '+-1', ' ', 'x10', '1e3']) {
      assert.equal(u64(word), undefined, JSON.stringify(word));
    }
  });

  it('refuses values out of range', () => {
    assert.equal(u64('0x10000000000000000'), undefined);
    assert.equal(u64('18446744073709551616'), undefined);
    assert.equal(u64('1'.repeat(100_000)), undefined);
    assert.equal(u64('0x' + '0'.repeat(100) + '1'), 1n, 'leading zeros do not count');
  });

  it('reads every 64-bit value in the forms clients send: hex of any case and length, decimal', () => {
    // The short forms take a path of their own (no regular expression, no BigInt of the
    // word); every form must give the value it spells, whichever path reads it.
    const u64Values = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.integer({ min: 0, max: 0xffff }).map(BigInt),
      fc.constantFrom(0n, (1n << 52n) - 1n, 1n << 52n, (1n << 53n) + 1n, (1n << 63n) - 1n),
    );
    fc.assert(
      fc.property(u64Values, fc.nat({ max: 3 }), fc.boolean(), (value, zeros, upper) => {
        const digits = '0'.repeat(zeros) + value.toString(16);
        const forms = [
          '0x' + (upper ? digits.toUpperCase() : digits),
          '0X' + digits,
          value.toString(10),
          '0' + value.toString(8),
        ];
        for (const word of forms) {
          assert.equal(u64(word), value, word);
          assert.equal(parseSigned64(word), value < 1n << 63n ? value : undefined, word);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads signed values for the clock', () => {
    assert.equal(parseSigned64('-5'), -5n);
    assert.equal(parseSigned64('0x7fffffffffffffff'), (1n << 63n) - 1n);
    assert.equal(parseSigned64('0x8000000000000000'), undefined);
    assert.equal(parseSigned64('-0x8000000000000000'), -(1n << 63n));
    assert.equal(parseSigned64('-0x8000000000000001'), undefined);
  });
});

describe('qtest data encodings (as QEMU 7.2 decodes them)', () => {
  it('write: skips two prefix characters, two digits per byte, zero-fills the rest', () => {
    assert.deepEqual([...decodeQtestHex('0xdeadbeef', 4)], [0xde, 0xad, 0xbe, 0xef]);
    assert.deepEqual([...decodeQtestHex('0xAbCd', 3)], [0xab, 0xcd, 0]);
    assert.deepEqual([...decodeQtestHex('0x1', 2)], [0, 0], 'an odd final digit is ignored');
    assert.deepEqual([...decodeQtestHex('12345', 2)], [0x34, 0], 'the prefix is not checked');
    assert.deepEqual([...decodeQtestHex('0xdeadbeef', 2)], [0xde, 0xad], 'longer data is cut');
  });

  it('write: a non-hex digit counts as -1, as hex2nib returns', () => {
    assert.deepEqual([...decodeQtestHex('0xzz1g', 2)], [0xff, 0xff]);
    assert.deepEqual([...decodeQtestHex('0xz1', 1)], [0xf1]);
  });

  it('b64write: skips foreign characters, honours padding, drops an incomplete group', () => {
    assert.deepEqual([...decodeLenientBase64('AQID')], [1, 2, 3]);
    assert.deepEqual([...decodeLenientBase64('A*Q!I:D')], [1, 2, 3]);
    assert.deepEqual([...decodeLenientBase64('AQ==')], [1]);
    assert.deepEqual([...decodeLenientBase64('AQI=')], [1, 2]);
    assert.deepEqual([...decodeLenientBase64('AQIDBA')], [1, 2, 3]);
    assert.deepEqual([...decodeLenientBase64('\u0101AQID')], [1, 2, 3]);
  });
});

describe('listen addresses', () => {
  it('parses unix and tcp forms, 127.0.0.1 by default', () => {
    assert.deepEqual(parseListenAddress('unix:/x/y.sock'), { kind: 'unix', path: '/x/y.sock' });
    assert.deepEqual(parseListenAddress('tcp:4000'), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 4000,
    });
    assert.deepEqual(parseListenAddress('tcp::0'), { kind: 'tcp', host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('tcp:0.0.0.0:9'), {
      kind: 'tcp',
      host: '0.0.0.0',
      port: 9,
    });
    assert.deepEqual(parseListenAddress('tcp:[::1]:9'), { kind: 'tcp', host: '::1', port: 9 });
    assert.equal(formatListenAddress({ kind: 'tcp', host: '::1', port: 9 }), 'tcp:[::1]:9');
  });

  it('refuses anything else', () => {
    for (const text of ['unix:', 'tcp:', 'tcp:host:', 'tcp:1:2:3', 'tcp:70000', 'udp:1', '/path']) {
      assert.throws(() => parseListenAddress(text), /invalid listen address/, text);
    }
  });
});
