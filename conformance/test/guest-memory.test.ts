import assert from 'node:assert/strict';
import { GuestMemory, suiteRegion } from '../memory/guest-memory.js';

describe('guest memory', () => {
  it('hands out aligned, non-overlapping regions until the range is used up', () => {
    const memory = new GuestMemory({ base: 0x10_0000n, size: 0x4000 });
    assert.deepEqual(memory.allocate(0x10), { base: 0x10_0000n, size: 0x10 });
    assert.deepEqual(memory.allocate(0x10, 16), { base: 0x10_0010n, size: 0x10 });
    assert.deepEqual(memory.allocate(0x2000), { base: 0x10_1000n, size: 0x2000 });
    assert.throws(() => memory.allocate(0x1001), /guest memory exhausted: 4097 bytes/);
    assert.deepEqual(memory.allocate(0x1000), { base: 0x10_3000n, size: 0x1000 });
  });

  it('refuses sizes and alignments that make no sense', () => {
    const memory = new GuestMemory(suiteRegion(0x1000_0000));
    assert.throws(() => memory.allocate(0), /invalid size 0/);
    assert.throws(() => memory.allocate(1.5), /invalid size/);
    assert.throws(() => memory.allocate(16, 24), /alignment 24 is not a power of two/);
  });

  it('lays the suite out inside the RAM the target has', () => {
    assert.deepEqual(suiteRegion(0x1000_0000), { base: 0x100_0000n, size: 0x700_0000 });
    assert.deepEqual(suiteRegion(0x200_0000), { base: 0x100_0000n, size: 0x100_0000 });
    assert.throws(() => suiteRegion(0x100_0000), /guest RAM of 0x1000000 bytes is too small/);
  });
});
