import assert from 'node:assert/strict';
import { FindingLog, MAX_KEPT_FINDINGS } from '../platform/findings.js';
import { GuestRam } from '../platform/guest-ram.js';
import { accessPieces } from '../platform/mmio-region.js';
import { VirtualClock } from '../platform/virtual-clock.js';
import { manualHostClock } from './support/driver.js';

describe('virtual clock', () => {
  it('follows host time until a client steps it, then stands still between steps', () => {
    const host = manualHostClock();
    const clock = new VirtualClock(host);
    host.advance(5000n);
    assert.equal(clock.now(), 5000n);
    assert.equal(clock.stepped, false);
    assert.equal(clock.step(100n), 5100n);
    host.advance(1_000_000n);
    assert.equal(clock.now(), 5100n);
    assert.equal(clock.set(6000n), 6000n);
  });

  it('fires timers in deadline order, each seeing its own deadline', () => {
    const clock = new VirtualClock(manualHostClock());
    const fired: string[] = [];
    clock.at(300n, () => fired.push(`c@${clock.now()}`));
    clock.at(100n, () => fired.push(`a@${clock.now()}`));
    clock.at(100n, () => fired.push(`b@${clock.now()}`));
    assert.equal(clock.step(), 100n, 'to the next deadline');
    assert.deepEqual(fired, ['a@100', 'b@100']);
    assert.equal(clock.step(1000n), 1100n);
    assert.deepEqual(fired, ['a@100', 'b@100', 'c@300']);
  });

  it('fires timers as host time passes', () => {
    const host = manualHostClock();
    const clock = new VirtualClock(host);
    let fired = false;
    clock.at(1000n, () => (fired = true));
    host.advance(999n);
    clock.catchUp();
    assert.equal(fired, false);
    host.advance(1n);
    clock.catchUp();
    assert.equal(fired, true);
  });

  it('saturates at the largest signed 64-bit time', () => {
    const clock = new VirtualClock(manualHostClock());
    clock.step((1n << 63n) - 1n);
    assert.equal(clock.step((1n << 63n) - 1n), (1n << 63n) - 1n);
  });
});

describe('guest RAM', () => {
  it('reads zeros where nothing was written and copies across pages', () => {
    const ram = new GuestRam(0x10000);
    assert.deepEqual([...ram.read(0x1ffe, 4)], [0, 0, 0, 0]);
    ram.write(0x1ffe, Uint8Array.of(1, 2, 3, 4));
    assert.deepEqual([...ram.read(0x1ffd, 6)], [0, 1, 2, 3, 4, 0]);
    assert.equal(ram.readU32(0x1ffe), 0x04030201);
    assert.equal(ram.readU64(0x1ffe), 0x04030201n);
    ram.fill(0, 0x10000, 0);
    assert.equal(ram.readU32(0x1ffe), 0);
    ram.fill(0x1000, 0x2001, 0xee);
    assert.deepEqual([...ram.read(0xfff, 2)], [0, 0xee]);
    assert.deepEqual([...ram.read(0x3000, 2)], [0xee, 0]);
  });

  it('reads and writes little-endian words inside a page and across a page boundary', () => {
    const ram = new GuestRam(0x10000);
    assert.equal(ram.readU16(0x2000), 0);
    for (const at of [0x2004, 0x2ffe, 0x2ffd, 0x2fff]) {
      ram.writeU32(at, 0xfedcba98);
      assert.deepEqual([...ram.read(at, 4)], [0x98, 0xba, 0xdc, 0xfe], `writeU32 at ${at}`);
      assert.equal(ram.readU32(at), 0xfedcba98, `readU32 at ${at}`);
      ram.writeU16(at, 0x1234);
      assert.deepEqual([...ram.read(at, 4)], [0x34, 0x12, 0xdc, 0xfe], `writeU16 at ${at}`);
      assert.equal(ram.readU16(at), 0x1234, `readU16 at ${at}`);
    }
    ram.write(0x4ffc, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0x88));
    assert.equal(ram.readU64(0x4ffc), 0x8807060504030201n);
  });

  it('after a release, a RAM made next reads zeros where it has not written, and the released one shares no page with it', () => {
    const ended = new GuestRam(0x10_0000);
    for (let page = 0; page < 0x100; page++) ended.fill(page * 0x1000, 0x1000, 0xa5);
    ended.writeU16(0x2800, 0x5555); // the page it touched last
    ended.release();
    const next = new GuestRam(0x10_0000);
    // Every page it touches first is a spare one: each must read as zeros but for its write.
    for (let page = 0; page < 0x100; page++) {
      const at = page * 0x1000;
      next.writeU16(at + 0x800, 0x1234);
      assert.deepEqual([...next.read(at, 0x800)], new Array(0x800).fill(0), `page ${page}`);
      assert.equal(next.readU32(at + 0x7fe), 0x1234_0000, `page ${page}`);
    }
    // The released RAM reads zeros, and its writes land in pages of its own (the one it
    // touched last first).
    assert.equal(ended.readU16(0x2800), 0);
    for (let page = 0; page < 0x100; page++) ended.writeU16(page * 0x1000 + 0x800, 0xeeee);
    for (let page = 0; page < 0x100; page++) {
      assert.equal(next.readU16(page * 0x1000 + 0x800), 0x1234, `page ${page}`);
    }
  });

  it('knows its bounds', () => {
    const ram = new GuestRam(0x1000);
    assert.equal(ram.contains(0n, 0x1000), true);
    assert.equal(ram.contains(0x1000n, 0), true);
    assert.equal(ram.contains(0xfffn, 2), false);
    assert.equal(ram.contains(-1n, 1), false);
    assert.throws(() => new GuestRam(0), RangeError);
  });
});

describe('MMIO access pieces', () => {
  it('cuts accesses the way QEMU does: widest aligned power of two', () => {
    assert.deepEqual(accessPieces(0, 8, 4), [
      { offset: 0, size: 4 },
      { offset: 4, size: 4 },
    ]);
    assert.deepEqual(accessPieces(1, 4, 4), [
      { offset: 1, size: 1 },
      { offset: 2, size: 2 },
      { offset: 4, size: 1 },
    ]);
    assert.deepEqual(accessPieces(0x80, 6, 8), [
      { offset: 0x80, size: 4 },
      { offset: 0x84, size: 2 },
    ]);
  });
});

describe('finding log', () => {
  it('keeps a bounded number of findings but tells listeners all of them', () => {
    const log = new FindingLog();
    let heard = 0;
    const stop = log.onFinding(() => heard++);
    for (let i = 0; i < MAX_KEPT_FINDINGS + 5; i++) log.add({ message: `m${i}` });
    assert.equal(log.entries.length, MAX_KEPT_FINDINGS);
    assert.equal(log.dropped, 5);
    assert.equal(heard, MAX_KEPT_FINDINGS + 5);
    stop();
    log.add({ message: 'late' });
    assert.equal(heard, MAX_KEPT_FINDINGS + 5);
  });
});
