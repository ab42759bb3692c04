// The DMA judge against a fake target: RAM in a Uint8Array behind the JudgedMemory interface
// and a DMA engine whose IOMMU translation a test chooses, right or planted wrong. Each
// planted bug (a write one byte below or above a mapping, a one-byte leak, a whole page
// granted for a smaller mapping) must come back as a finding naming the exact address.

import assert from 'node:assert/strict';
import { AddressPattern, fmix32, fmix32Inverse } from '../judge/address-pattern.js';
import { DmaJudge, type MemoryFinding } from '../judge/dma-judge.js';
import type { JudgedMemory } from '../judge/watched-memory.js';
import { writePayload } from '../judge/payload.js';
import { FAR_FILL } from '../judge/far-fill.js';

const RAM_SIZE = 0x40_0000; // 4 MiB
const SUITE = { start: 0x30_0000, end: 0x31_0000 }; // the suite's queues: never watched

class FakeRam implements JudgedMemory {
  readonly bytes: Uint8Array;
  constructor(size = RAM_SIZE) {
    this.bytes = new Uint8Array(size);
  }
  async memread(address: bigint, length: number): Promise<Uint8Array> {
    return this.bytes.slice(Number(address), Number(address) + length);
  }
  async memwrite(address: bigint, bytes: Uint8Array): Promise<void> {
    this.bytes.set(bytes, Number(address));
  }
}

/** A DMA engine behind an IOMMU: `translate` gives each IOVA's physical address, or none. */
class FakeDma {
  constructor(
    readonly ram: FakeRam,
    readonly translate: (iova: number) => number | undefined,
  ) {}
  write(iova: number, payload: Uint8Array): void {
    payload.forEach((byte, i) => {
      const pa = this.translate(iova + i);
      if (pa !== undefined) this.ram.bytes[pa] = byte;
    });
  }
  read(iova: number, length: number): Uint8Array {
    return Uint8Array.from({ length }, (_, i) => {
      const pa = this.translate(iova + i);
      return pa === undefined ? 0 : this.ram.bytes[pa]!;
    });
  }
}

/** One mapping [virtStart, virtEnd] → physStart, translated right or with a planted bug. */
function mapping(
  virtStart: number,
  virtEnd: number,
  physStart: number,
  bug: 'none' | 'below' | 'above' | 'page' = 'none',
): (iova: number) => number | undefined {
  return (iova) => {
    let lo = virtStart;
    let hi = virtEnd;
    if (bug === 'below') lo--;
    if (bug === 'above') hi++;
    if (bug === 'page') {
      lo = virtStart & ~0xfff;
      hi = virtEnd | 0xfff;
    }
    return iova >= lo && iova <= hi ? physStart + (iova - virtStart) : undefined;
  };
}

const VS = 0x1000;
const VE = 0x1fff;
const PHYS = 0x20_0000;

async function setUp<R extends FakeRam>(ram: R): Promise<{ ram: R; judge: DmaJudge }>;
async function setUp(): Promise<{ ram: FakeRam; judge: DmaJudge }>;
async function setUp(ram = new FakeRam()): Promise<{ ram: FakeRam; judge: DmaJudge }> {
  const judge = new DmaJudge(ram, {
    window: [{ start: 0x10_0000, end: RAM_SIZE }],
    exclude: [SUITE],
    ram: [{ start: 0, end: RAM_SIZE }],
  });
  judge.watch(PHYS, VE - VS + 1);
  await judge.prepare('test');
  return { ram, judge };
}

/** Writes 16 bytes at `iova` and judges them: bytes inside [VS, VE] must land at PHYS + …. */
async function judgeWrite(judge: DmaJudge, dma: FakeDma, iova: number): Promise<MemoryFinding[]> {
  const payload = writePayload(`w${iova}`, 16);
  dma.write(iova, payload);
  const first = Math.max(iova, VS);
  const last = Math.min(iova + 15, VE);
  return judge.judgeWrites([
    {
      label: `write of 16 bytes at IOVA 0x${iova.toString(16)}`,
      payload,
      landing: [
        {
          offset: first - iova,
          length: last - first + 1,
          address: PHYS + (first - VS),
          required: false,
        },
      ],
    },
  ]);
}

function judgeRead(judge: DmaJudge, dma: FakeDma, iova: number, length = 16): MemoryFinding[] {
  const first = Math.max(iova, VS);
  const last = Math.min(iova + length - 1, VE);
  return judge.judgeRead(
    {
      label: `read of ${length} bytes at IOVA 0x${iova.toString(16)}`,
      length,
      sources:
        last < first
          ? []
          : [
              {
                offset: first - iova,
                length: last - first + 1,
                address: PHYS + (first - VS),
                required: true,
              },
            ],
    },
    dma.read(iova, length),
  );
}

describe('DMA judge: the address pattern', () => {
  it('fmix32Inverse undoes fmix32', () => {
    for (const v of [0, 1, 0x1234_5678, 0xffff_ffff, 0x8000_0000]) {
      assert.equal(fmix32Inverse(fmix32(v)), v);
    }
  });

  it('names the source of every 15-byte window, at any alignment, and only under its salt', () => {
    const pattern = new AddressPattern(42);
    const other = new AddressPattern(43);
    for (const base of [0x10_0000, 0x10_0001, 0x10_0007, 0xfff_fff1]) {
      const bytes = pattern.bytes(base, 15);
      for (let i = 0; i < 15; i++) assert.equal(pattern.locate(bytes, i), base + i);
      assert.equal(other.locate(bytes, 0), undefined);
    }
  });

  it('fills a range the same way byte by byte and in bulk, never below 0x80', () => {
    const pattern = new AddressPattern(7);
    const bulk = pattern.bytes(0x1003, 29);
    bulk.forEach((byte, i) => {
      assert.equal(byte, pattern.byteAt(0x1003 + i));
      assert.ok(byte >= 0x80);
    });
  });
});

describe('DMA judge: writes', () => {
  it('passes a write that lands exactly inside the mapping', async () => {
    const { ram, judge } = await setUp();
    assert.deepEqual(await judgeWrite(judge, new FakeDma(ram, mapping(VS, VE, PHYS)), VS), []);
    assert.deepEqual(await judgeWrite(judge, new FakeDma(ram, mapping(VS, VE, PHYS)), VE - 15), []);
  });

  it('catches a write that lands one byte below the mapping', async () => {
    const { ram, judge } = await setUp();
    const findings = await judgeWrite(
      judge,
      new FakeDma(ram, mapping(VS, VE, PHYS, 'below')),
      VS - 1,
    );
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.kind, 'escape');
    assert.deepEqual(findings[0]!.span, { start: PHYS - 1, end: PHYS });
    assert.match(
      findings[0]!.text,
      /^0x1fffff\.\.0x1fffff \(1 byte\) changed where no write may land: it holds payload bytes 0\.\.0 of the write of 16 bytes at IOVA 0xfff/,
    );
  });

  it('catches a write that lands one byte above the mapping', async () => {
    const { ram, judge } = await setUp();
    const findings = await judgeWrite(
      judge,
      new FakeDma(ram, mapping(VS, VE, PHYS, 'above')),
      VE - 14,
    );
    assert.deepEqual(
      findings.map((f) => [f.kind, f.span]),
      [['escape', { start: PHYS + 0x1000, end: PHYS + 0x1001 }]],
    );
    assert.match(findings[0]!.text, /0x201000\.\.0x201000 \(1 byte\)/);
  });

  it('catches a write far from any target, and one that did not land', async () => {
    const { ram, judge } = await setUp();
    const far = 0x38_1234;
    const dma = new FakeDma(ram, (iova) =>
      iova >= VS && iova <= VE ? far + iova - VS : undefined,
    );
    const findings = await judgeWrite(judge, dma, VS);
    assert.deepEqual(
      findings.map((f) => f.kind),
      ['escape'],
    );
    assert.deepEqual(findings[0]!.span, { start: far, end: far + 16 });
    // Required bytes that never arrive are missing.
    const payload = writePayload('lost', 4);
    const missing = await judge.judgeWrites([
      {
        label: 'lost write',
        payload,
        landing: [{ offset: 0, length: 4, address: PHYS, required: true }],
      },
    ]);
    assert.deepEqual(
      missing.map((f) => [f.kind, f.span]),
      [['missing', { start: PHYS, end: PHYS + 4 }]],
    );
  });

  it('restores what a device changed, so the next judgement starts clean', async () => {
    const { ram, judge } = await setUp();
    await judgeWrite(judge, new FakeDma(ram, mapping(VS, VE, PHYS, 'below')), VS - 1);
    assert.deepEqual(await judge.judgeWrites([]), []);
  });

  it('never watches the suite own memory', async () => {
    const { ram, judge } = await setUp();
    ram.bytes[SUITE.start + 5] = 1;
    assert.deepEqual(await judge.judgeWrites([]), []);
    ram.bytes[SUITE.end] = 1;
    assert.deepEqual(
      (await judge.judgeWrites([])).map((f) => f.span),
      [{ start: SUITE.end, end: SUITE.end + 1 }],
    );
  });
});

describe('DMA judge: reads', () => {
  it('passes a read whose every byte comes from its place', async () => {
    const { ram, judge } = await setUp();
    assert.deepEqual(judgeRead(judge, new FakeDma(ram, mapping(VS, VE, PHYS)), VS), []);
    assert.deepEqual(judgeRead(judge, new FakeDma(ram, mapping(VS, VE, PHYS)), VE - 15), []);
  });

  it('catches a one-byte leak at the start of a read', async () => {
    const { ram, judge } = await setUp();
    const findings = judgeRead(judge, new FakeDma(ram, mapping(VS, VE, PHYS, 'below')), VS - 1);
    assert.deepEqual(
      findings.map((f) => [f.kind, f.span]),
      [['leak', { start: 0, end: 1 }]],
    );
    assert.match(
      findings[0]!.text,
      /bytes 0\.\.0 came from 0x1fffff\.\.0x1fffff \(1 byte\), where the read may reach nothing/,
    );
  });

  it('catches a one-byte leak even in a one-byte read', async () => {
    const { ram, judge } = await setUp();
    const dma = new FakeDma(ram, mapping(VS, VE, PHYS, 'above'));
    const findings = judge.judgeRead(
      {
        label: 'read of 1 byte at IOVA 0x2000',
        length: 1,
        sources: [],
        suspects: [{ offset: 0, address: PHYS + 0x1000, why: 'the mapping continued' }],
      },
      dma.read(VE + 1, 1),
    );
    assert.equal(findings.length, 1);
    assert.match(
      findings[0]!.text,
      /came from 0x201000\.\.0x201000 \(1 byte\) \(the mapping continued\)/,
    );
  });

  it('catches a whole page granted for a smaller mapping, in both directions', async () => {
    const ram = new FakeRam();
    const judge = new DmaJudge(ram, {
      window: [],
      exclude: [],
      ram: [{ start: 0, end: RAM_SIZE }],
    });
    // A 32-byte mapping [0x1010, 0x102f] → PHYS + 0x10, granted as the whole page by the bug.
    const dma = new FakeDma(ram, mapping(0x1010, 0x102f, PHYS + 0x10, 'page'));
    judge.watch(PHYS + 0x10, 32);
    await judge.prepare('page');
    const read = judge.judgeRead(
      {
        label: 'read of 48 bytes at IOVA 0x1008',
        length: 48,
        sources: [{ offset: 8, length: 32, address: PHYS + 0x10, required: true }],
      },
      dma.read(0x1008, 48),
    );
    assert.deepEqual(
      read.map((f) => [f.kind, f.span]),
      [
        ['leak', { start: 0, end: 8 }],
        ['leak', { start: 40, end: 48 }],
      ],
    );
    assert.match(read[0]!.text, /came from 0x200008\.\.0x20000f \(8 bytes\)/);
    assert.match(read[1]!.text, /came from 0x200030\.\.0x200037 \(8 bytes\)/);
    const payload = writePayload('page', 48);
    dma.write(0x1008, payload);
    const write = await judge.judgeWrites([
      {
        label: 'write of 48 bytes at IOVA 0x1008',
        payload,
        landing: [{ offset: 8, length: 32, address: PHYS + 0x10, required: true }],
      },
    ]);
    assert.deepEqual(
      write.map((f) => [f.kind, f.span]),
      [
        ['escape', { start: PHYS + 8, end: PHYS + 0x10 }],
        ['escape', { start: PHYS + 0x30, end: PHYS + 0x38 }],
      ],
    );
  });

  it('tells bytes left from an earlier step from fresh ones', async () => {
    const { ram, judge } = await setUp();
    const dma = new FakeDma(ram, mapping(VS, VE, PHYS));
    const old = dma.read(VS, 16);
    await judge.prepare('next step');
    // The device transferred nothing; edu's buffer still holds the earlier step's bytes.
    const findings = judge.judgeRead(
      {
        label: 'read',
        length: 16,
        sources: [{ offset: 0, length: 16, address: PHYS, required: true }],
      },
      old,
    );
    assert.deepEqual(
      findings.map((f) => f.kind),
      ['missing'],
    );
    assert.match(findings[0]!.text, /bytes of an earlier step arrived/);
    // Where nothing may arrive, stale bytes are no leak.
    assert.deepEqual(judge.judgeRead({ label: 'read', length: 16, sources: [] }, old), []);
  });
});

/** FakeRam with qtest's memset, counting what it was asked to write. */
class FakeRamWithMemset extends FakeRam {
  readonly memsets: Array<{ start: number; end: number; byte: number }> = [];
  bytesWritten = 0;
  override async memwrite(address: bigint, bytes: Uint8Array): Promise<void> {
    this.bytesWritten += bytes.length;
    return super.memwrite(address, bytes);
  }
  async memset(address: bigint, length: number, byte: number): Promise<void> {
    this.memsets.push({ start: Number(address), end: Number(address) + length, byte });
    this.bytes.fill(byte, Number(address), Number(address) + length);
  }
}

describe('DMA judge: the far fill', () => {
  const setUpFar = () => setUp(new FakeRamWithMemset());

  it('fills the window away from the guard zones by memset, and only the guard zones by data', async () => {
    const { ram } = await setUpFar();
    const guard = { start: PHYS - 0x1_0000, end: PHYS + 0x1000 + 0x1_0000 };
    assert.deepEqual(ram.memsets, [
      { start: 0x10_0000, end: guard.start, byte: FAR_FILL.value },
      { start: guard.end, end: SUITE.start, byte: FAR_FILL.value },
      { start: SUITE.end, end: RAM_SIZE, byte: FAR_FILL.value },
    ]);
    assert.equal(ram.bytesWritten, guard.end - guard.start);
    assert.equal(ram.bytes[0x10_0000], FAR_FILL.value);
    assert.notEqual(ram.bytes[guard.start], FAR_FILL.value);
  });

  it('catches a one-byte write far from every target, and a zero written there', async () => {
    const { ram, judge } = await setUpFar();
    const far = 0x38_0001;
    ram.bytes[far] = 0x41;
    ram.bytes[0x10_0000] = 0;
    assert.deepEqual(
      (await judge.judgeWrites([])).map((f) => [f.kind, f.span]),
      [
        ['escape', { start: 0x10_0000, end: 0x10_0001 }],
        ['escape', { start: far, end: far + 1 }],
      ],
    );
    // Restored to the far fill: the next judgement starts clean.
    assert.deepEqual(await judge.judgeWrites([]), []);
  });

  it('calls bytes read from far away a leak, never stale bytes of a suspect place', async () => {
    const { ram, judge } = await setUpFar();
    // The device read the far fill where the mapping should have led to PHYS.
    const dma = new FakeDma(ram, mapping(VS, VE, 0x38_0000));
    const findings = judge.judgeRead(
      {
        label: 'read of 16 bytes at IOVA 0x1000',
        length: 16,
        sources: [],
        suspects: [{ offset: 0, address: PHYS, why: 'the mapping' }],
      },
      dma.read(VS, 16),
    );
    assert.deepEqual(
      findings.map((f) => [f.kind, f.span]),
      [['leak', { start: 0, end: 16 }]],
    );
    assert.match(findings[0]!.text, /the far fill's, from watched memory away from every target/);
    const wrong = judgeRead(judge, dma, VS);
    assert.deepEqual(
      wrong.map((f) => f.kind),
      ['wrong-source'],
    );
  });
});

/** FakeRam whose reads come back one at a time, each in a later turn, as big replies do. */
class TricklingRam extends FakeRam {
  /** For each read, how many reads had come back when it was issued. */
  readonly issuedAfter: number[] = [];
  #back = 0;
  /** Forgets the reads so far. */
  restart(): void {
    this.issuedAfter.length = 0;
    this.#back = 0;
  }
  override memread(address: bigint, length: number): Promise<Uint8Array> {
    this.issuedAfter.push(this.#back);
    const bytes = this.bytes.slice(Number(address), Number(address) + length);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.#back++;
        resolve(bytes);
      }, this.issuedAfter.length),
    );
  }
}

describe('DMA judge: reading the window back', () => {
  it('reads in waves of 64 pieces, each sent before any of its replies is back', async () => {
    const size = 0x80_0000; // 8 MiB: 128 pieces of 64 KiB
    const ram = new TricklingRam(size);
    const judge = new DmaJudge(ram, {
      window: [{ start: 0, end: size }],
      exclude: [],
      ram: [{ start: 0, end: size }],
    });
    judge.watch(PHYS, VE - VS + 1);
    await judge.prepare('test');
    ram.restart();
    assert.deepEqual(await judge.judgeWrites([]), []);
    const waves = [...new Set(ram.issuedAfter)];
    const pieces = ram.issuedAfter.length;
    assert.ok(pieces > 64, `${pieces} pieces`);
    assert.deepEqual(
      waves,
      Array.from({ length: Math.ceil(pieces / 64) }, (_, i) => 64 * i),
    );
  });
});
