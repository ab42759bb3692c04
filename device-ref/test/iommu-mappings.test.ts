// The mapping tree on its own: ordered, disjoint, all-or-nothing UNMAP, and big.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MappingTree, NO_MAPPING, type Mapping } from '../iommu/mappings.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

function m(virt_start: bigint, virt_end: bigint, phys_start = virt_start, flags = 3): Mapping {
  return { virt_start, virt_end, phys_start, flags };
}

describe('iommu mapping tree', () => {
  it('finds the mapping that holds an address, and nothing between mappings', () => {
    const tree = new MappingTree(1);
    assert.ok(tree.map(m(0x1000n, 0x1fffn, 0xa000n, 1)));
    assert.ok(tree.map(m(0x3000n, 0x4fffn, 0x20000n, 2)));
    assert.equal(tree.size, 2);
    assert.equal(tree.find(0xfffn), NO_MAPPING);
    assert.deepEqual(tree.lookup(0x1000n), m(0x1000n, 0x1fffn, 0xa000n, 1));
    assert.deepEqual(tree.lookup(0x1fffn), m(0x1000n, 0x1fffn, 0xa000n, 1));
    assert.equal(tree.lookup(0x2000n), undefined);
    const handle = tree.find(0x4abcn);
    assert.equal(tree.virtStartOf(handle), 0x3000n);
    assert.equal(tree.virtEndOf(handle), 0x4fffn);
    assert.equal(tree.physStartOf(handle), 0x20000n);
    assert.equal(tree.flagsOf(handle), 2);
    assert.equal(tree.lookup(0x5000n), undefined);
  });

  it('dev.map.overlap: refuses a mapping that overlaps another, and changes nothing', () => {
    const tree = new MappingTree(2);
    assert.ok(tree.map(m(0x2000n, 0x3fffn)));
    for (const [s, e] of [
      [0x3000n, 0x4fffn],
      [0x1000n, 0x5fffn],
      [0x2000n, 0x3fffn],
      [0x1000n, 0x2000n],
      [0x3fffn, 0x3fffn],
    ] as const) {
      assert.equal(tree.overlaps(s, e), true, `${s}-${e}`);
      assert.equal(tree.map(m(s, e)), false, `${s}-${e}`);
    }
    assert.equal(tree.overlaps(0x1000n, 0x1fffn), false);
    assert.equal(tree.overlaps(0x4000n, 0x4fffn), false);
    assert.deepEqual([...tree.entries()], [m(0x2000n, 0x3fffn)]);
  });

  it('handles the two ends of the 64-bit space', () => {
    const tree = new MappingTree(3);
    assert.ok(tree.map(m(0n, 0xfffn)));
    assert.ok(tree.map(m(U64_MAX - 0xfffn, U64_MAX, 0x5000n)));
    assert.equal(tree.lookup(U64_MAX)?.phys_start, 0x5000n);
    assert.equal(tree.lookup(0n)?.virt_end, 0xfffn);
    assert.equal(tree.lookup(1n << 63n), undefined);
    assert.deepEqual(tree.unmap(0n, U64_MAX), { ok: true, removed: 2 });
    assert.equal(tree.size, 0);
  });

  it('dev.unmap.split-keep: a range that cuts a mapping removes nothing, at either end', () => {
    const tree = new MappingTree(4);
    tree.map(m(0x0n, 0x4fffn));
    tree.map(m(0x5000n, 0x9fffn));
    assert.deepEqual(tree.unmap(0x0n, 0x6fffn), { ok: false });
    assert.deepEqual(tree.unmap(0x1000n, 0x9fffn), { ok: false });
    assert.deepEqual(tree.unmap(0x1000n, 0x1fffn), { ok: false });
    assert.equal(tree.size, 2);
    assert.deepEqual(tree.unmap(0x5000n, 0xffffn), { ok: true, removed: 1 });
    assert.deepEqual([...tree.entries()], [m(0x0n, 0x4fffn)]);
  });

  it('reuses the nodes of removed mappings', () => {
    const tree = new MappingTree(5);
    for (let round = 0; round < 3; round++) {
      for (let i = 0n; i < 100n; i++) assert.ok(tree.map(m(i * 0x1000n, i * 0x1000n + 0xfffn)));
      assert.deepEqual(tree.unmap(0n, U64_MAX), { ok: true, removed: 100 });
    }
    assert.equal(tree.size, 0);
    assert.deepEqual([...tree.entries()], []);
  });

  it('holds 1,000,000 live mappings', function () {
    this.timeout(60_000);
    const tree = new MappingTree();
    const count = 1_000_000;
    // Map every other page, in an order that is neither ascending nor descending.
    for (let i = 0; i < count; i++) {
      const page = BigInt(((i * 7919) % count) * 2);
      assert.ok(tree.map(m(page << 12n, (page << 12n) + 0xfffn, (page << 12n) + 0x1_0000_0000n)));
    }
    assert.equal(tree.size, count);
    assert.equal(tree.lookup(0x1000n), undefined);
    assert.equal(
      tree.lookup((2n * 123_456n) << 12n)?.phys_start,
      ((2n * 123_456n) << 12n) + 0x1_0000_0000n,
    );
    assert.deepEqual(tree.unmap(0n, (2n * 1000n) << 12n), { ok: false });
    assert.deepEqual(tree.unmap(0n, ((2n * 1000n) << 12n) - 1n), { ok: true, removed: 1000 });
    assert.equal(tree.size, count - 1000);
  });

  it('agrees with a sorted list under random MAP and UNMAP', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('map' as const),
        start: fc.nat(63),
        pages: fc.integer({ min: 1, max: 8 }),
      }),
      fc.record({
        kind: fc.constant('unmap' as const),
        start: fc.nat(63),
        pages: fc.integer({ min: 1, max: 16 }),
      }),
      fc.record({ kind: fc.constant('find' as const), start: fc.nat(80), pages: fc.constant(1) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.integer(), (ops, seed) => {
        const tree = new MappingTree(seed);
        let list: Mapping[] = [];
        for (const { kind, start, pages } of ops) {
          const s = BigInt(start) * 0x1000n;
          const e = s + BigInt(pages) * 0x1000n - 1n;
          if (kind === 'map') {
            const free = list.every((x) => x.virt_end < s || x.virt_start > e);
            assert.equal(tree.map(m(s, e, s * 3n)), free);
            if (free)
              list = [...list, m(s, e, s * 3n)].sort((a, b) =>
                a.virt_start < b.virt_start ? -1 : 1,
              );
          } else if (kind === 'unmap') {
            const cut = list.some(
              (x) => x.virt_start <= e && x.virt_end >= s && (x.virt_start < s || x.virt_end > e),
            );
            const inside = list.filter((x) => x.virt_start >= s && x.virt_end <= e);
            assert.deepEqual(
              tree.unmap(s, e),
              cut ? { ok: false } : { ok: true, removed: inside.length },
            );
            if (!cut) list = list.filter((x) => !inside.includes(x));
          } else {
            assert.deepEqual(
              tree.lookup(s + 0x800n),
              list.find((x) => x.virt_start <= s && s <= x.virt_end),
            );
          }
          assert.equal(tree.size, list.length);
        }
        assert.deepEqual([...tree.entries()], list);
      }),
    );
  });
});
