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
import { qtestLine as line } from '../fuzz/random-lines.js';

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
