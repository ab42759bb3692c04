import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSigned64, parseUnsigned64 } from '../qtest/c-number.js';
import {
  decodeLenientBase64,
  decodeQtestHex,
  encodedLength,
  writeBase64,
  writeHexDigits,
} from '../qtest/data-encoding.js';
import { formatListenAddress, parseListenAddress } from '../qtest/listen-address.js';

describe('qtest numbers (strtoull/strtoll with base 0, whole word)', () => {
  // Values come as numbers below 2^52 and as bigints from there on; compared as bigints.
  const asBigInt = (value: number | bigint | undefined) =>
    value === undefined ? undefined : BigInt(value);
  const u64 = (word: string) => asBigInt(parseUnsigned64(word));
  const s64 = (word: string) => asBigInt(parseSigned64(word));

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
          assert.equal(s64(word), value < 1n << 63n ? value : undefined, word);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('gives a number below 2^52 for the words clients send, a bigint otherwise', () => {
    assert.equal(parseUnsigned64('0x1000'), 0x1000);
    assert.equal(parseUnsigned64('0xfffffffffffff'), 2 ** 52 - 1);
    assert.equal(parseUnsigned64('999999999999999'), 999999999999999);
    assert.equal(parseUnsigned64('readw 0x11220a', 6), 0x11220a, 'a word inside a line');
    assert.equal(parseUnsigned64('0x10000000000000'), 1n << 52n);
    assert.equal(parseUnsigned64('0x0'), 0);
    assert.equal(parseUnsigned64('0'), 0n);
    assert.equal(parseSigned64('0x10'), 16);
  });

  it('reads signed values for the clock', () => {
    assert.equal(s64('-5'), -5n);
    assert.equal(s64('0x7fffffffffffffff'), (1n << 63n) - 1n);
    assert.equal(s64('0x8000000000000000'), undefined);
    assert.equal(s64('-0x8000000000000000'), -(1n << 63n));
    assert.equal(s64('-0x8000000000000001'), undefined);
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
    const decode = (text: string, size: number) => [...decodeLenientBase64(text, size)];
    assert.deepEqual(decode('AQID', 3), [1, 2, 3]);
    assert.deepEqual(decode('A*Q!I:D', 3), [1, 2, 3]);
    assert.deepEqual(decode('AQ==', 1), [1]);
    assert.deepEqual(decode('AQI=', 2), [1, 2]);
    assert.deepEqual(decode('AQ==AQID', 4), [1, 1, 2, 3], 'padding drops bytes mid-text');
    assert.deepEqual(decode('AQI=AQID', 5), [1, 2, 1, 2, 3]);
    assert.deepEqual(decode('AQIDBA', 4), [1, 2, 3, 0]);
    assert.deepEqual(decode('\u0101AQID', 3), [1, 2, 3]);
  });

  it('b64write: cuts the data at SIZE and zero-fills up to it', () => {
    const decode = (text: string, size: number) => [...decodeLenientBase64(text, size)];
    assert.deepEqual(decode('AQIDBAUG', 4), [1, 2, 3, 4]);
    assert.deepEqual(decode('AQIDBAUG', 0), []);
    assert.deepEqual(decode('AQID', 5), [1, 2, 3, 0, 0]);
    assert.deepEqual(decode('AQ==', 3), [1, 0, 0]);
    assert.deepEqual(decode('A*Q!I:D', 2), [1, 2]);
  });

  it('b64write: every canonical text decodes to its bytes, and any text as the lenient decoder reads it', () => {
    // Canonical base64 of SIZE bytes takes Node's decoder (through a reused buffer up to
    // 4 KiB, a buffer of its own above); anything else the lenient loop. Both must agree
    // with GLib's rules, here spelt out once more, slowly.
    const glib = (text: string, size: number): number[] => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const digits = [...text].filter((c) => c === '=' || alphabet.includes(c));
      const out: number[] = [];
      for (let i = 0; i + 4 <= digits.length; i += 4) {
        const group = digits.slice(i, i + 4);
        const value = group.reduce((v, c) => v * 64 + Math.max(alphabet.indexOf(c), 0), 0);
        out.push(value >> 16);
        if (group[2] !== '=') out.push((value >> 8) & 0xff);
        if (group[3] !== '=') out.push(value & 0xff);
      }
      return [...out.slice(0, size), ...Array<number>(Math.max(0, size - out.length)).fill(0)];
    };
    const sizes = fc.oneof(fc.nat({ max: 40 }), fc.integer({ min: 4090, max: 4100 }));
    fc.assert(
      fc.property(sizes, fc.integer({ min: -3, max: 3 }), (size, delta) => {
        const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 151 + size) & 0xff);
        const text = Buffer.from(bytes).toString('base64');
        assert.deepEqual([...decodeLenientBase64(text, size)], [...bytes]);
        const other = Math.max(0, size + delta);
        assert.deepEqual([...decodeLenientBase64(text, other)], glib(text, other));
      }),
      { numRuns: 300 },
    );
    const texts = fc.string({
      unit: fc.constantFrom(...'AQIDab+/=*\u0101 '.split('')),
      maxLength: 40,
    });
    fc.assert(
      fc.property(texts, fc.nat({ max: 32 }), (text, size) => {
        assert.deepEqual([...decodeLenientBase64(text, size)], glib(text, size), text);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('qtest reply encodings (into the reply batch)', () => {
  it('hex and base64 written into a buffer are what Buffer encodes, at any offset and length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat({ max: 5 }), (bytes, at) => {
        for (const encoding of ['hex', 'base64'] as const) {
          const expected = Buffer.from(bytes).toString(encoding);
          assert.equal(encodedLength(encoding, bytes.length), expected.length);
          const out = Buffer.alloc(at + expected.length + 2, '#');
          const write = encoding === 'hex' ? writeHexDigits : writeBase64;
          assert.equal(write(bytes, out, at), at + expected.length);
          assert.equal(out.toString('latin1'), '#'.repeat(at) + expected + '##');
        }
      }),
      { numRuns: 1000 },
    );
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
