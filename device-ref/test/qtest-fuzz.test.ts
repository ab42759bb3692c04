// A small run of the qtest fuzz (fuzz/qtest-fuzz.ts) against `viommu device` as a process:
// random lines from two clients side by side, a chunk of sixteen pipelined 16 MiB reads,
// slow readers, and a silent client all along. The big run is by hand: npm run fuzz:qtest.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runQtestFuzz } from '../fuzz/qtest-fuzz.js';
import { findPackageRoot } from '../package-root.js';

const RAM = 16 * 1024 * 1024;

describe('qtest fuzz run against viommu device', function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'viommu-fuzz-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('answers 20,000 random lines, huge pipelined reads and slow readers: no crash, no hang, one good reply each', async () => {
    // q35 with 16 MiB of RAM (what the huge reads read), so that guest RAM, which random
    // memsets may fill, does not hide what the server itself holds.
    const q35 = readFileSync(join(findPackageRoot(), 'device-ref', 'boards', 'q35.json'), 'utf8');
    const board = join(dir, 'q35-16m.json');
    writeFileSync(board, JSON.stringify({ ...JSON.parse(q35), $schema: undefined, ram_size: RAM }));
    const report = await runQtestFuzz({ lines: 20_000, clients: 2, chunk: 800, seed: 7, board });
    assert.equal(report.crash, undefined);
    assert.equal(report.hang, undefined);
    assert.deepEqual(report.badReplies, []);
    assert.equal(report.replies, report.linesSent);
    assert.ok(report.linesSent > 20_000);
    assert.ok(report.hugeChunks >= 1 && report.slowChunks >= 1);
    const growth = report.peakRssKiB - report.startRssKiB;
    assert.ok(growth < 160 * 1024, `peak RSS grew by ${growth} KiB`);
  });
});
