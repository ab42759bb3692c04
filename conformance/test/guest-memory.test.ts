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

  it('fills the gap an aligned region leaves below it before going past it', () => {
    const memory = new GuestMemory({ base: 0x10_0000n, size: 0x30_0000 });
    assert.deepEqual(memory.allocate(0x10_0000, 0x20_0000), { base: 0x20_0000n, size: 0x10_0000 });
    assert.deepEqual(memory.allocate(0x1000), { base: 0x10_0000n, size: 0x1000 });
    assert.deepEqual(memory.allocate(0xf_0000), { base: 0x10_1000n, size: 0xf_0000 });
    // The gap below @ram has 0xf000 bytes left: a bigger region goes above it.
    assert.deepEqual(memory.allocate(0x1_0000), { base: 0x30_0000n, size: 0x1_0000 });
    assert.deepEqual(memory.allocate(0xf000), { base: 0x1f_1000n, size: 0xf000 });
    assert.deepEqual(
      memory.allocations.map((r) => r.base),
      [0x10_0000n, 0x10_1000n, 0x1f_1000n, 0x20_0000n, 0x30_0000n],
    );
  });

  it('lays the suite out inside the RAM the target has', () => {
    assert.deepEqual(suiteRegion(0x1000_0000), { base: 0x11_0000n, size: 0x7ef_0000 });
    assert.deepEqual(suiteRegion(0x30_0000), { base: 0x11_0000n, size: 0x1f_0000 });
    assert.throws(() => suiteRegion(0x2f_f000), /guest RAM of 0x2ff000 bytes is too small/);
  });
});
