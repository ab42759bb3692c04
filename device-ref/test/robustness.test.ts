// Random and malformed qtest lines, in-process and over a socket: every line gets exactly one
// well-formed reply, no reply reports an internal error, and the server keeps serving.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createBoard, type Board } from '../board/board.js';
import { parseBoardDescription } from '../board/description.js';
import { executeCommandLine } from '../qtest/dispatch.js';
import { startQtestServer } from '../qtest/server.js';
import { echoIommuFactory } from './support/echo-device.js';
import { LineClient } from './support/qtest-client.js';

const SMALL_BOARD = parseBoardDescription(
  {
    name: 'small',
    ram_size: 0x200000,
    iommu: {
      slot: 1,
      features: ['VIRTIO_IOMMU_F_MAP_UNMAP'],
      page_size_mask: '0xfffffffffffff000',
      input_range: { start: '0x0', end: '0xffffffffffffffff' },
      domain_range: { start: 0, end: 65535 },
      probe_size: 512,
      bypass: true,
    },
    endpoints: [{ slot: 2, kind: 'edu', reserved_regions: [] }],
  },
  'small board',
);
const REPLY = /^(OK( [^\n]*)?|FAIL [^\n]*|ERR [^\n]*)$/;
const COMMANDS = [
  'outb',
  'outw',
  'outl',
  'inb',
  'inw',
  'inl',
  'readb',
  'readw',
  'readl',
  'readq',
  'writeb',
  'writew',
  'writel',
  'writeq',
  'read',
  'write',
  'b64read',
  'b64write',
  'memset',
  'endianness',
  'clock_step',
  'clock_set',
];

const bigintWord = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => `0x${n.toString(16)}`),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map((n) => n.toString()),
  fc.nat().map((n) => `0${n.toString(8)}`),
);
const addressWord = fc.oneof(
  fc.integer({ min: 0, max: 0x1fffff }).map((n) => `0x${n.toString(16)}`),
  fc.integer({ min: 0, max: 0x3fff }).map((n) => `0x${(0xe0000000 + n).toString(16)}`),
  fc.integer({ min: 0, max: 0xfffff }).map((n) => `0x${(0xe1000000 + n).toString(16)}`),
  fc.constantFrom('0xcf8', '0xcfc', '0xcfd', '0xcfe', '0xcff', '0x80'),
);
const sizeWord = fc.oneof(
  fc.integer({ min: 0, max: 64 }).map(String),
  fc.constantFrom('0', '0x1000', '0x200000', '0x1000001'),
);
const garbageWord = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc.constantFrom('', '0x', '-', '0xzz', '\r', '\t1', 'AQID', '0xdeadbeef', 'A*Q!'),
);
const word = fc.oneof(addressWord, sizeWord, bigintWord, garbageWord);
const commandLine = fc
  .tuple(fc.constantFrom(...COMMANDS), fc.array(word, { maxLength: 4 }))
  .map(([name, args]) => [name, ...args].join(' '));
const line = fc
  .oneof(commandLine, commandLine, commandLine, garbageWord, fc.string({ maxLength: 40 }))
  .map((text) => text.replace(/\n/g, ''));

/** Places the BARs and turns on decoding and bus mastering, so random writes reach devices. */
function setUp(execute: (line: string) => string): void {
  const cfg = (slot: number, offset: number) =>
    execute(`outl 0xcf8 ${0x80000000 | (slot << 11) | offset}`);
  cfg(1, 0x20);
  execute('outl 0xcfc 0xe0000000');
  cfg(1, 0x04);
  execute('outw 0xcfc 6');
  cfg(2, 0x10);
  execute('outl 0xcfc 0xe1000000');
  cfg(2, 0x04);
  execute('outw 0xcfc 6');
}

describe('robustness against random qtest lines', function () {
  this.timeout(60_000);

  it('answers 6000 random lines in-process with one well-formed reply each', () => {
    let board: Board;
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 60 }), (lines) => {
        board = createBoard(SMALL_BOARD, { iommuModel: echoIommuFactory() });
        setUp((text) => executeCommandLine(board, text));
        for (const text of lines) {
          const reply = executeCommandLine(board, text);
          assert.match(reply, REPLY, `${JSON.stringify(text)} → ${JSON.stringify(reply)}`);
          assert.doesNotMatch(reply, /Internal error/, `${JSON.stringify(text)} → ${reply}`);
        }
        assert.equal(executeCommandLine(board, 'endianness'), 'OK little');
      }),
      { numRuns: 200, seed: 20240601 },
    );
  });

  it('keeps a server answering 3000 random lines, binary bytes included', async () => {
    const server = await startQtestServer({
      listen: 'tcp:0',
      board: () => createBoard(SMALL_BOARD, { iommuModel: echoIommuFactory() }),
    });
    try {
      const client = await LineClient.connect(server.address);
      const setUpLines: string[] = [];
      setUp((text) => (setUpLines.push(text), ''));
      await client.sendAll(setUpLines);
      const lines = fc.sample(line, { numRuns: 3000, seed: 7 });
      const replies = await client.sendAll(lines);
      replies.forEach((reply, i) => {
        assert.match(reply, REPLY, `${JSON.stringify(lines[i])} → ${JSON.stringify(reply)}`);
        assert.doesNotMatch(reply, /Internal error/);
      });
      assert.equal(await client.send('endianness'), 'OK little');
      await client.close();
    } finally {
      await server.close();
    }
  });
});
