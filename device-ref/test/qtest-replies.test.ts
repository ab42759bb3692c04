// Every reply form of the qtest protocol, on a q35 board in-process.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_TRANSFER_BYTES } from '../qtest/commands/command.js';
import { executeCommandLine } from '../qtest/dispatch.js';
import type { QtestTarget } from '../qtest/target.js';
import { manualHostClock, TestDriver } from './support/driver.js';

describe('qtest replies', () => {
  let d: TestDriver;
  beforeEach(() => {
    d = new TestDriver();
  });

  it('endianness → OK little (extra words ignored)', () => {
    assert.equal(d.cmd('endianness'), 'OK little');
    assert.equal(d.cmd('endianness extra words'), 'OK little');
  });

  it('inb/inw/inl answer with at least four hex digits; unused ports float high', () => {
    assert.equal(d.cmd('inb 0x80'), 'OK 0x00ff');
    assert.equal(d.cmd('inw 0x80'), 'OK 0xffff');
    assert.equal(d.cmd('inl 0x1234'), 'OK 0xffffffff');
    assert.equal(d.cmd('outb 0x80 0x1ff'), 'OK');
    assert.equal(d.cmd('outl 0xcf8 0x80000000'), 'OK');
    assert.equal(d.cmd('inb 0xcf8'), 'OK 0x0000');
  });

  it('readb..readq answer 16 hex digits, little-endian; writes truncate the value', () => {
    assert.equal(d.cmd('writel 0x100000 0xdeadbeef'), 'OK');
    assert.equal(d.cmd('readb 0x100000'), 'OK 0x00000000000000ef');
    assert.equal(d.cmd('readw 0x100000'), 'OK 0x000000000000beef');
    assert.equal(d.cmd('readl 0x100000'), 'OK 0x00000000deadbeef');
    assert.equal(d.cmd('readq 0x100000'), 'OK 0x00000000deadbeef');
    assert.equal(d.cmd('writew 0x100000 0x123456'), 'OK');
    assert.equal(d.cmd('readl 0x100000'), 'OK 0x00000000dead3456');
    assert.equal(d.cmd('writeq 0x100000 -2'), 'OK');
    assert.equal(d.cmd('readq 0x100000'), 'OK 0xfffffffffffffffe');
    assert.equal(d.cmd('readw 0x100001'), 'OK 0x000000000000ffff', 'unaligned RAM access');
  });

  it('read/write move hex; write zero-fills and answers ERR for data under 3 characters', () => {
    assert.equal(d.cmd('write 0x2000 4 0xdeadbeef'), 'OK');
    assert.equal(d.cmd('read 0x2000 6'), 'OK 0xdeadbeef0000');
    assert.equal(d.cmd('write 0x2000 4 0xab'), 'OK');
    assert.equal(d.cmd('read 0x2000 4'), 'OK 0xab000000');
    assert.equal(d.cmd('write 0x2000 1 0x'), 'ERR invalid argument size');
    assert.equal(d.cmd('write 0x2000 0 0x12'), 'OK');
    assert.equal(d.cmd('read 0x2000 0'), "FAIL SIZE 0 is not allowed for 'read'");
  });

  it('b64read/b64write; a zero-size b64read answers "OK " with the space', () => {
    assert.equal(d.cmd('b64write 0x3000 5 AQIDBAU='), 'OK');
    assert.equal(d.cmd('b64read 0x3000 5'), 'OK AQIDBAU=');
    assert.equal(d.cmd('b64read 0x3000 0'), 'OK ');
    assert.equal(d.cmd('b64write 0x3000 2 AQID'), 'OK');
    assert.equal(d.cmd('read 0x3000 3'), 'OK 0x010203');
    assert.equal(d.cmd('b64write 0x3000 4 AQ=='), 'OK');
    assert.equal(d.cmd('read 0x3000 5'), 'OK 0x0100000005', 'short data is zero-filled');
    assert.equal(d.cmd('b64write 0x3000 2 CQgHBgU='), 'OK');
    assert.equal(d.cmd('read 0x3000 5'), 'OK 0x0908000005', 'long data is cut at SIZE');
    assert.equal(d.cmd('b64write 0x3000 3 A'), 'ERR invalid argument size');
  });

  it('memset fills with the low byte of the pattern; size 0 does nothing', () => {
    assert.equal(d.cmd('memset 0x4000 4 0x1ff'), 'OK');
    assert.equal(d.cmd('read 0x4000 5'), 'OK 0xffffffff00');
    assert.equal(d.cmd('memset 0x4000 0 5'), 'OK');
    assert.equal(d.cmd('memset 0x0 0x10000000 0'), 'OK', 'all of RAM');
    assert.equal(d.cmd('read 0x4000 1'), 'OK 0x00');
  });

  it('clock_step and clock_set answer the virtual time in decimal ns', () => {
    d = new TestDriver('q35', manualHostClock());
    assert.equal(d.cmd('clock_set 1000'), 'OK 1000');
    assert.equal(d.cmd('clock_step 500'), 'OK 1500');
    assert.equal(d.cmd('clock_step'), 'OK 1500', 'no timer pending: no move');
    assert.equal(d.cmd('clock_set 10'), 'OK 1500', 'the past is ignored');
    assert.equal(d.cmd('clock_step -5'), 'OK 1500');
  });

  it('unknown commands, as QEMU words them (split on single spaces)', () => {
    assert.equal(d.cmd('xyz'), "FAIL Unknown command 'xyz'");
    assert.equal(d.cmd('XYZ abc'), "FAIL Unknown command 'XYZ'");
    assert.equal(d.cmd(' outb'), "FAIL Unknown command ''");
    assert.equal(d.cmd('readb\t0x1000'), "FAIL Unknown command 'readb\t0x1000'");
    assert.equal(d.cmd('constructor'), "FAIL Unknown command 'constructor'");
    assert.equal(d.cmd('__proto__'), "FAIL Unknown command '__proto__'");
    assert.equal(d.cmd('irq_intercept_in ioapic'), "FAIL Unknown command 'irq_intercept_in'");
  });

  it('reads every number form in every argument place, extra words ignored', () => {
    // The words are read in place in the line (no split, no substring per number): each
    // form must give its value wherever its word starts, and a word with anything left over
    // must be refused with the word quoted.
    const u64 = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.integer({ min: 0, max: 0xffff }).map(BigInt),
      fc.constantFrom(0n, 8n, (1n << 52n) - 1n, 1n << 52n, (1n << 53n) + 1n, (1n << 64n) - 1n),
    );
    const forms = (value: bigint): string[] => [
      `0x${value.toString(16)}`,
      `0x${value.toString(16).toUpperCase()}`,
      `0X${value.toString(16)}`,
      `0x0${value.toString(16)}`,
      value.toString(10),
      `0${value.toString(8)}`,
      `+${value.toString(10)}`,
    ];
    const address = (offset: number) => forms(BigInt(0x100000 + 8 * offset));
    fc.assert(
      fc.property(u64, fc.nat({ max: 6 }), fc.nat({ max: 6 }), (value, a, v) => {
        const at = address(v)[a]!;
        for (const word of forms(value)) {
          assert.equal(d.cmd(`writeq ${at} ${word}`), 'OK', `writeq ${at} ${word}`);
          assert.equal(
            d.cmd(`readq ${at} ${word} more`),
            `OK 0x${value.toString(16).padStart(16, '0')}`,
            `writeq ${at} ${word}`,
          );
        }
      }),
      { numRuns: 300 },
    );
    assert.equal(d.cmd('writeq 0x100000 0x1 extra words'), 'OK');
    assert.equal(d.cmd('readq 0x100000 0x2'), 'OK 0x0000000000000001');
    assert.equal(d.cmd('readq 0x100000 '), 'OK 0x0000000000000001', 'an empty extra word');
    assert.equal(d.cmd('writeq 0x100000 08'), "FAIL Invalid number '08' for VALUE");
    assert.equal(d.cmd('writeq 0x100000 0x1g'), "FAIL Invalid number '0x1g' for VALUE");
    assert.equal(d.cmd('writeq 0x100000 12a'), "FAIL Invalid number '12a' for VALUE");
    assert.equal(d.cmd('writeq 0x100000 0x'), "FAIL Invalid number '0x' for VALUE");
    assert.equal(d.cmd('writeq 0x100000 x1'), "FAIL Invalid number 'x1' for VALUE");
    assert.equal(d.cmd('readq 0x1000001'), 'OK 0x0000000000000000');
    assert.equal(
      d.cmd('readq 0x10000000000000000'),
      "FAIL Invalid number '0x10000000000000000' for ADDR",
    );
    assert.equal(
      d.cmd('readq 18446744073709551616'),
      "FAIL Invalid number '18446744073709551616' for ADDR",
    );
    assert.equal(d.cmd('writeq 0x100000 -1'), 'OK', 'a minus sign wraps');
    assert.equal(d.cmd('readq 0x100000'), 'OK 0xffffffffffffffff');
    assert.equal(
      d.cmd('writeq 0x100000 0x'.padEnd(100, '1')),
      `FAIL Invalid number '0x${'1'.repeat(62)}...' for VALUE`,
    );
  });

  it('answers FAIL where QEMU would abort', () => {
    assert.equal(d.cmd(''), 'FAIL Empty command line');
    assert.equal(d.cmd('readb'), "FAIL Missing argument ADDR: usage 'readb ADDR'");
    assert.equal(d.cmd('outb 0x80'), "FAIL Missing argument VALUE: usage 'outb ADDR VALUE'");
    assert.equal(
      d.cmd('write 0x1000 4'),
      "FAIL Missing argument DATA: usage 'write ADDR SIZE DATA'",
    );
    assert.equal(d.cmd('clock_set'), "FAIL Missing argument NS: usage 'clock_set NS'");
    assert.equal(d.cmd('readb  0x1000'), "FAIL Invalid number '' for ADDR");
    assert.equal(d.cmd('readb 0x1000\r'), "FAIL Invalid number '0x1000\r' for ADDR");
    assert.equal(d.cmd('readb 0xg'), "FAIL Invalid number '0xg' for ADDR");
    assert.equal(
      d.cmd('clock_step 0x8000000000000000'),
      "FAIL Invalid number '0x8000000000000000' for NS",
    );
    assert.equal(d.cmd('inb 0x10000'), 'FAIL Port 0x10000 is beyond 0xffff');
    assert.equal(d.cmd('outw -1 0'), 'FAIL Port 0xffffffffffffffff is beyond 0xffff');
    assert.equal(
      d.cmd(`read 0 ${MAX_TRANSFER_BYTES + 1}`),
      `FAIL Size 0x1000001 is more than the ${MAX_TRANSFER_BYTES} bytes one command may move`,
    );
    assert.equal(
      d.cmd('b64read 0 0xffffffffffffffff'),
      `FAIL Size 0xffffffffffffffff is more than the ${MAX_TRANSFER_BYTES} bytes one command may move`,
    );
  });

  it('refuses guest-physical ranges that are not all RAM or enabled BARs, writing nothing', () => {
    const fail = (range: string) =>
      `FAIL Guest-physical range ${range} is not backed by RAM or an enabled BAR`;
    assert.equal(d.cmd('readl 0x10000000'), fail('0x10000000+0x4'));
    assert.equal(d.cmd('readq 0xffffffc'), fail('0xffffffc+0x8'));
    assert.equal(d.cmd('writeq 0xffffffc 0x1111111111111111'), fail('0xffffffc+0x8'));
    assert.equal(d.cmd('readl 0xffffffc'), 'OK 0x0000000000000000', 'the RAM part was not written');
    assert.equal(d.cmd('readb 0xffffffffffffffff'), fail('0xffffffffffffffff+0x1'));
    assert.equal(d.cmd('read 0xfffffffffffffffe 4'), fail('0xfffffffffffffffe+0x4'));
    assert.equal(
      d.cmd('memset 0xfffffff 0xffffffffffffffff 1'),
      fail('0xfffffff+0xffffffffffffffff'),
    );
    assert.equal(d.cmd('readb 0xfffffff'), 'OK 0x0000000000000000');
    assert.equal(d.cmd('readl 0xe0000000'), fail('0xe0000000+0x4'), 'a BAR before it is enabled');
  });
});

describe('qtest values as the target receives them', () => {
  /** A target that records what reaches it. */
  const recorder = () => {
    const seen: unknown[][] = [];
    const target: QtestTarget = {
      endianness: 'little',
      syncTime() {},
      portRead: () => 0,
      portWrite: (...args) => void seen.push(['port', ...args]),
      memoryBacked: () => true,
      memoryRead: (_address, length) => new Uint8Array(length),
      memoryWrite: (...args) => seen.push(['write', BigInt(args[0]), [...args[1]]]) > 0,
      memoryFill: (...args) => seen.push(['fill', BigInt(args[0]), ...args.slice(1)]) > 0,
      clockStep: (ns) => ns ?? 0n,
      clockSet: (ns) => ns,
    };
    return { target, seen };
  };

  it('truncates port and memset values to their width, whichever form the word takes', () => {
    const { target, seen } = recorder();
    for (const line of [
      'outb 0x80 0x1ff',
      'outw 0x80 0x12345',
      'outl 0x80 0x123456789',
      'outl 0x80 -1',
      'outb 0x80 0xffffffffffffff01',
      'memset 0x10 2 0x1ff',
      'memset 0x10 2 -2',
    ])
      assert.equal(executeCommandLine(target, line), 'OK', line);
    assert.deepEqual(seen, [
      ['port', 0x80, 1, 0xff],
      ['port', 0x80, 2, 0x2345],
      ['port', 0x80, 4, 0x23456789],
      ['port', 0x80, 4, 0xffffffff],
      ['port', 0x80, 1, 0x01],
      ['fill', 0x10n, 2n, 0xff],
      ['fill', 0x10n, 2n, 0xfe],
    ]);
  });

  it('writes the little-endian bytes of a word, high half included', () => {
    const { target, seen } = recorder();
    executeCommandLine(target, 'writeq 0x20 0x123456789abcd');
    executeCommandLine(target, 'writeq 0xfffffffffff00 0xfedcba9876543210');
    executeCommandLine(target, 'writel 0x20 0x123456789');
    assert.deepEqual(seen, [
      ['write', 0x20n, [0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00]],
      ['write', 0xfffffffffff00n, [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]],
      ['write', 0x20n, [0x89, 0x67, 0x45, 0x23]],
    ]);
  });
});
