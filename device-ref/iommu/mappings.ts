// Layer: iommu.
// The mappings of one domain: disjoint virtual ranges [virt_start, virt_end], ordered by
// virt_start, in a treap. MAP inserts in O(log n), UNMAP removes k mappings in
// O(k + log n), and a translation finds the mapping that holds an address in O(log n)
// (all expected, whatever order the driver maps in: priorities are random).
//
// The nodes live in typed arrays (structure of arrays) rather than one object per mapping:
// a million live mappings then cost about 40 MB and no garbage-collector work. Each 64-bit
// address is kept as two 32-bit halves, so the hot loops compare plain numbers; bigints
// appear only at the edges of the public API.
//
// Statements: dev.map.overlap (overlaps), dev.unmap.split-status, dev.unmap.split-keep,
// dev.unmap.gaps and dev.unmap.covered (unmap).

/** One mapping, as a MAP request created it. */
export interface Mapping {
  virt_start: bigint;
  /** Inclusive. */
  virt_end: bigint;
  phys_start: bigint;
  /** `VIRTIO_IOMMU_MAP_F_*` bits. */
  flags: number;
}

/** A handle on a live mapping of a tree, valid until the tree next changes. */
export type MappingHandle = number;

/** What `find` returns when no mapping holds the address. */
export const NO_MAPPING: MappingHandle = -1;

export type UnmapResult =
  /** Every mapping inside the range is gone; `removed` counts them (0 is a success too). */
  | { ok: true; removed: number }
  /** The range covers only part of some mapping; nothing was removed. */
  | { ok: false };

const NIL = -1;
const INITIAL_CAPACITY = 16;

// Splitting a bigint into halves and joining them back goes through one 8-byte scratch
// buffer: cheaper than bigint shifts and masks, which allocate.
const scratch = new DataView(new ArrayBuffer(8));

function highHalf(value: bigint): number {
  scratch.setBigUint64(0, value);
  return scratch.getUint32(0);
}

function lowHalf(value: bigint): number {
  scratch.setBigUint64(0, value);
  return scratch.getUint32(4);
}

function joinHalves(high: number, low: number): bigint {
  scratch.setUint32(0, high);
  scratch.setUint32(4, low);
  return scratch.getBigUint64(0);
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! | 1;
}

export class MappingTree {
  #startHi = new Uint32Array(INITIAL_CAPACITY);
  #startLo = new Uint32Array(INITIAL_CAPACITY);
  #endHi = new Uint32Array(INITIAL_CAPACITY);
  #endLo = new Uint32Array(INITIAL_CAPACITY);
  #physHi = new Uint32Array(INITIAL_CAPACITY);
  #physLo = new Uint32Array(INITIAL_CAPACITY);
  #flags = new Uint32Array(INITIAL_CAPACITY);
  #priority = new Uint32Array(INITIAL_CAPACITY);
  #left = new Int32Array(INITIAL_CAPACITY);
  #right = new Int32Array(INITIAL_CAPACITY);

  #root = NIL;
  #size = 0;
  /** Freed nodes, chained through #left. */
  #free = NIL;
  /** Nodes below this index have been handed out at least once. */
  #used = 0;
  /** xorshift32 state for node priorities. */
  #seed: number;

  // Results of #split, read by the caller right after the call.
  #splitLeft = NIL;
  #splitRight = NIL;

  /** `seed` fixes the tree's shape (tests); by default it is random. */
  constructor(seed: number = randomSeed()) {
    this.#seed = seed >>> 0 || 1;
  }

  /** The number of live mappings. */
  get size(): number {
    return this.#size;
  }

  /** Whether some mapping holds an address of [virt_start, virt_end]. */
  overlaps(virt_start: bigint, virt_end: bigint): boolean {
    const last = this.#floor(highHalf(virt_end), lowHalf(virt_end));
    if (last === NIL) return false;
    return !this.#endBefore(last, highHalf(virt_start), lowHalf(virt_start));
  }

  /**
   * Adds a mapping unless it overlaps one already there (dev.map.overlap); returns whether
   * it did. The caller has checked virt_start <= virt_end.
   */
  map(mapping: Mapping): boolean {
    if (this.overlaps(mapping.virt_start, mapping.virt_end)) return false;
    const node = this.#allocate();
    this.#startHi[node] = highHalf(mapping.virt_start);
    this.#startLo[node] = lowHalf(mapping.virt_start);
    this.#endHi[node] = highHalf(mapping.virt_end);
    this.#endLo[node] = lowHalf(mapping.virt_end);
    this.#physHi[node] = highHalf(mapping.phys_start);
    this.#physLo[node] = lowHalf(mapping.phys_start);
    this.#flags[node] = mapping.flags;
    this.#root = this.#insert(this.#root, node);
    this.#size++;
    return true;
  }

  /**
   * Removes every mapping that lies inside [virt_start, virt_end], unless the range covers
   * only part of some mapping: then it removes nothing
   * (dev.unmap.split-status, dev.unmap.split-keep). Addresses that no mapping covers are
   * skipped (dev.unmap.gaps). The caller has checked virt_start <= virt_end.
   */
  unmap(virt_start: bigint, virt_end: bigint): UnmapResult {
    const sh = highHalf(virt_start);
    const sl = lowHalf(virt_start);
    const eh = highHalf(virt_end);
    const el = lowHalf(virt_end);
    // Only two mappings can stick out of the range: the one that holds virt_start and
    // starts before it, and the one that holds virt_end and ends after it.
    const first = this.#floor(sh, sl);
    if (first !== NIL && this.#startBefore(first, sh, sl) && !this.#endBefore(first, sh, sl)) {
      return { ok: false };
    }
    const last = this.#floor(eh, el);
    if (last !== NIL && this.#endAfter(last, eh, el)) {
      return { ok: false };
    }
    this.#split(this.#root, sh, sl, false);
    const before = this.#splitLeft;
    this.#split(this.#splitRight, eh, el, true);
    const inside = this.#splitLeft;
    const after = this.#splitRight;
    const removed = this.#release(inside);
    this.#root = this.#merge(before, after);
    this.#size -= removed;
    return { ok: true, removed };
  }

  /** The mapping that holds `address`, or NO_MAPPING. */
  find(address: bigint): MappingHandle {
    const ah = highHalf(address);
    const al = lowHalf(address);
    const node = this.#floor(ah, al);
    if (node === NIL || this.#endBefore(node, ah, al)) return NO_MAPPING;
    return node;
  }

  virtStartOf(handle: MappingHandle): bigint {
    return joinHalves(this.#startHi[handle]!, this.#startLo[handle]!);
  }

  virtEndOf(handle: MappingHandle): bigint {
    return joinHalves(this.#endHi[handle]!, this.#endLo[handle]!);
  }

  physStartOf(handle: MappingHandle): bigint {
    return joinHalves(this.#physHi[handle]!, this.#physLo[handle]!);
  }

  flagsOf(handle: MappingHandle): number {
    return this.#flags[handle]!;
  }

  mappingAt(handle: MappingHandle): Mapping {
    return {
      virt_start: this.virtStartOf(handle),
      virt_end: this.virtEndOf(handle),
      phys_start: this.physStartOf(handle),
      flags: this.flagsOf(handle),
    };
  }

  /** The mapping that holds `address`, as a value. */
  lookup(address: bigint): Mapping | undefined {
    const handle = this.find(address);
    return handle === NO_MAPPING ? undefined : this.mappingAt(handle);
  }

  /** Every mapping, in the order of virt_start. */
  *entries(): IterableIterator<Mapping> {
    const stack: number[] = [];
    let node = this.#root;
    while (node !== NIL || stack.length > 0) {
      while (node !== NIL) {
        stack.push(node);
        node = this.#left[node]!;
      }
      node = stack.pop()!;
      yield this.mappingAt(node);
      node = this.#right[node]!;
    }
  }

  // --- node comparisons: (hi, lo) pairs compared as unsigned 64-bit numbers ---

  /** start(node) < (h, l) */
  #startBefore(node: number, h: number, l: number): boolean {
    const nh = this.#startHi[node]!;
    return nh < h || (nh === h && this.#startLo[node]! < l);
  }

  /** end(node) < (h, l) */
  #endBefore(node: number, h: number, l: number): boolean {
    const nh = this.#endHi[node]!;
    return nh < h || (nh === h && this.#endLo[node]! < l);
  }

  /** end(node) > (h, l) */
  #endAfter(node: number, h: number, l: number): boolean {
    const nh = this.#endHi[node]!;
    return nh > h || (nh === h && this.#endLo[node]! > l);
  }

  /** The node with the greatest start <= (h, l), or NIL. */
  #floor(h: number, l: number): number {
    const startHi = this.#startHi;
    const startLo = this.#startLo;
    let node = this.#root;
    let best = NIL;
    while (node !== NIL) {
      const nh = startHi[node]!;
      if (nh < h || (nh === h && startLo[node]! <= l)) {
        best = node;
        node = this.#right[node]!;
      } else {
        node = this.#left[node]!;
      }
    }
    return best;
  }

  // --- treap operations ---

  /** Inserts `node` into the subtree `tree`; returns the subtree's new root. */
  #insert(tree: number, node: number): number {
    if (tree === NIL) return node;
    if (this.#priority[node]! > this.#priority[tree]!) {
      this.#split(tree, this.#startHi[node]!, this.#startLo[node]!, false);
      this.#left[node] = this.#splitLeft;
      this.#right[node] = this.#splitRight;
      return node;
    }
    if (this.#startBefore(node, this.#startHi[tree]!, this.#startLo[tree]!)) {
      this.#left[tree] = this.#insert(this.#left[tree]!, node);
    } else {
      this.#right[tree] = this.#insert(this.#right[tree]!, node);
    }
    return tree;
  }

  /**
   * Splits `tree` into the nodes whose start is below (h, l) (or at most (h, l) when
   * `inclusive`) and the others; the two roots land in #splitLeft and #splitRight.
   */
  #split(tree: number, h: number, l: number, inclusive: boolean): void {
    if (tree === NIL) {
      this.#splitLeft = NIL;
      this.#splitRight = NIL;
      return;
    }
    const th = this.#startHi[tree]!;
    const tl = this.#startLo[tree]!;
    const goesLeft = th < h || (th === h && (inclusive ? tl <= l : tl < l));
    if (goesLeft) {
      this.#split(this.#right[tree]!, h, l, inclusive);
      this.#right[tree] = this.#splitLeft;
      this.#splitLeft = tree;
    } else {
      this.#split(this.#left[tree]!, h, l, inclusive);
      this.#left[tree] = this.#splitRight;
      this.#splitRight = tree;
    }
  }

  /** Joins two treaps where every start in `a` is below every start in `b`. */
  #merge(a: number, b: number): number {
    if (a === NIL) return b;
    if (b === NIL) return a;
    if (this.#priority[a]! > this.#priority[b]!) {
      this.#right[a] = this.#merge(this.#right[a]!, b);
      return a;
    }
    this.#left[b] = this.#merge(a, this.#left[b]!);
    return b;
  }

  // --- node storage ---

  #allocate(): number {
    let node = this.#free;
    if (node !== NIL) {
      this.#free = this.#left[node]!;
    } else {
      if (this.#used === this.#priority.length) this.#grow();
      node = this.#used++;
    }
    this.#left[node] = NIL;
    this.#right[node] = NIL;
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    this.#priority[node] = this.#seed;
    return node;
  }

  /** Puts every node of `tree` on the free list; returns how many there were. */
  #release(tree: number): number {
    let count = 0;
    const pending = tree === NIL ? [] : [tree];
    while (pending.length > 0) {
      const node = pending.pop()!;
      const left = this.#left[node]!;
      const right = this.#right[node]!;
      if (left !== NIL) pending.push(left);
      if (right !== NIL) pending.push(right);
      this.#left[node] = this.#free;
      this.#free = node;
      count++;
    }
    return count;
  }

  #grow(): void {
    const capacity = this.#priority.length * 2;
    const grow32 = (old: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
      const next = new Uint32Array(capacity);
      next.set(old);
      return next;
    };
    const growLinks = (old: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(capacity);
      next.set(old);
      return next;
    };
    this.#startHi = grow32(this.#startHi);
    this.#startLo = grow32(this.#startLo);
    this.#endHi = grow32(this.#endHi);
    this.#endLo = grow32(this.#endLo);
    this.#physHi = grow32(this.#physHi);
    this.#physLo = grow32(this.#physLo);
    this.#flags = grow32(this.#flags);
    this.#priority = grow32(this.#priority);
    this.#left = growLinks(this.#left);
    this.#right = growLinks(this.#right);
  }
}
