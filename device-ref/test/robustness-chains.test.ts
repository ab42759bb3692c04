// The reference device, IOMMU model and all, under 100,000 random stimuli: qtest lines of any
// shape, descriptors with random addresses, lengths, flags and links, random request bytes in
// well-formed chains, ring indexes that jump, notifies. Every line gets exactly one
// well-formed reply, none reports an internal error, the device keeps answering, and its
// memory stays bounded.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createIommuModel } from '../board/iommu-model.js';
import { executeCommandLine } from '../qtest/dispatch.js';
import { CC, NOTIFY, TestDriver, VIRTIO_BAR } from './support/driver.js';
import { F_INDIRECT_DESC, readyDevice } from './support/ready-device.js';
import { qtestLine } from '../fuzz/random-lines.js';

const STIMULI = 100_000;
const REPLY = /^(OK( [^\n]*)?|FAIL [^\n]*|ERR [^\n]*)$/;
/** Where readyDevice puts the request queue (16 entries) and where request bytes go. */
const TABLE = 0x100000;
const AVAIL = TABLE + 0x1000;
const BUFFERS = 0x120000;
const NEEDS_RESET = 0x40;

const hex = (n: number | bigint) => `0x${n.toString(16)}`;
const address = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((n) => BUFFERS + n),
  fc.integer({ min: 0, max: 0x3fff }).map((n) => TABLE + n),
  fc.constantFrom(0, 0xffff_f000, 0x1000_0000 - 8, 0xe000_0000),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);
const length = fc.oneof(
  fc.integer({ min: 0, max: 96 }),
  fc.constantFrom(0xffff_ffff, 0x10_0000, 0x1000),
);
const entry = fc.integer({ min: 0, max: 17 });

/** One stimulus: the lines that carry it. */
const stimulus: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 3, arbitrary: qtestLine.map((line) => [line]) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(entry, address, length, fc.integer({ min: 0, max: 7 }), entry)
      .map(([i, addr, len, flags, next]) => {
        const at = TABLE + 16 * i;
        return [
          `writeq ${hex(at)} ${hex(addr)}`,
          `writel ${hex(at + 8)} ${hex(len)}`,
          `writew ${hex(at + 12)} ${flags}`,
          `writew ${hex(at + 14)} ${next}`,
        ];
      }),
  },
  {
    weight: 3,
    // Random request bytes (types 0 to 6 mostly, reserved bytes, ranges…) in a well-formed chain.
    arbitrary: fc
      .tuple(
        fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 6 }) }, fc.nat(255)),
        fc.uint8Array({ maxLength: 79 }),
        fc.integer({ min: 0, max: 600 }),
        fc.nat(0xffff),
      )
      .map(([type, rest, writable, idx]) => [Uint8Array.of(type, ...rest), writable, idx] as const)
      .map(([bytes, writable, idx]) => [
        `write ${hex(BUFFERS)} ${bytes.length} 0x${Buffer.from(bytes).toString('hex')}`,
        `writeq ${hex(TABLE)} ${hex(BUFFERS)}`,
        `writel ${hex(TABLE + 8)} ${bytes.length}`,
        `writew ${hex(TABLE + 12)} 1`,
        `writew ${hex(TABLE + 14)} 1`,
        `writeq ${hex(TABLE + 16)} ${hex(BUFFERS + 0x1000)}`,
        `writel ${hex(TABLE + 24)} ${writable}`,
        `writew ${hex(TABLE + 28)} 2`,
        `writew ${hex(AVAIL + 4 + 2 * (idx % 16))} 0`,
        `writew ${hex(AVAIL + 2)} ${(idx + 1) & 0xffff}`,
        `writew ${hex(VIRTIO_BAR + NOTIFY)} 0`,
      ]),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(0xffff), entry, fc.integer({ min: 0, max: 1 }))
      .map(([idx, head, queue]) => [
        `writew ${hex(AVAIL + 4 + 2 * (idx % 16))} ${head}`,
        `writew ${hex(AVAIL + 2)} ${idx}`,
        `writew ${hex(VIRTIO_BAR + NOTIFY + BigInt(4 * queue))} ${queue}`,
      ]),
  },
);

describe('robustness of the IOMMU device against random stimuli', function () {
  this.timeout(120_000);

  it(`answers ${STIMULI} random lines and descriptor chains, keeps working and bounds its memory`, () => {
    const d = new TestDriver('q35', undefined, createIommuModel);
    readyDevice(d, F_INDIRECT_DESC);
    const stimuli = fc.sample(stimulus, { numRuns: STIMULI, seed: 2026 });
    const gc = (globalThis as { gc?: () => void }).gc;
    let heapAfterWarmUp = 0;
    let lines = 0;
    let resets = 0;
    stimuli.forEach((stimulusLines, i) => {
      for (const line of stimulusLines) {
        const reply = executeCommandLine(d.board, line);
        lines++;
        assert.match(reply, REPLY, `${JSON.stringify(line)} → ${JSON.stringify(reply)}`);
        assert.doesNotMatch(reply, /Internal error/, `${JSON.stringify(line)} → ${reply}`);
      }
      // A device that gave up on a broken ring (DEVICE_NEEDS_RESET) is brought back, as a
      // driver would, so that the rest of the stimuli reach the IOMMU too.
      if (i % 50 === 49 && (Number(d.read(CC.device_status, 1)) & NEEDS_RESET) !== 0) {
        readyDevice(d, F_INDIRECT_DESC);
        resets++;
      }
      if (i === STIMULI / 10) {
        gc?.();
        heapAfterWarmUp = process.memoryUsage().heapUsed;
      }
    });
    assert.equal(executeCommandLine(d.board, 'endianness'), 'OK little');
    readyDevice(d, F_INDIRECT_DESC);
    assert.equal(Number(d.read(CC.device_status, 1)), 0xf, 'the device no longer initializes');
    assert.ok(lines > STIMULI, `${lines} lines`);
    assert.ok(resets > 0, 'no stimulus ever broke the ring: the chains are not random enough');
    assert.ok(d.board.findings.entries.length <= 10_000, 'the finding log grew without bound');
    assert.ok(gc, 'run mocha with --expose-gc, as .mocharc.json does');
    gc();
    const growth = process.memoryUsage().heapUsed - heapAfterWarmUp;
    assert.ok(growth < 64 * 1024 * 1024, `the heap grew by ${growth} bytes over 90,000 stimuli`);
  });
});
