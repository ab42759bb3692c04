// The ELF reader of the ABI probe: objects of all four kinds (32/64-bit, little/big-endian),
// built here byte by byte, real objects from the host and a cross compiler (in the drift
// tests), and objects that are not what they claim.

import assert from 'node:assert/strict';
import { ElfError, readElfSymbol, uint64Words } from '../drift/elf-object.js';

interface ElfSpec {
  bits: 32 | 64;
  littleEndian: boolean;
  machine: number;
  /** Symbols in the one data section: name, offset in the section, size. */
  symbols: { name: string; offset: number; size: number }[];
  data: Uint8Array;
}

/** A relocatable ELF object: header, data section, symbol table, names, section headers. */
function buildElf(spec: ElfSpec): Uint8Array {
  const wide = spec.bits === 64;
  const le = spec.littleEndian;
  const ehsize = wide ? 64 : 52;
  const shentsize = wide ? 64 : 40;
  const symsize = wide ? 24 : 16;
  const names = ['', ...spec.symbols.map((s) => s.name)];
  const strtab = new TextEncoder().encode(names.map((n) => `${n}\0`).join(''));
  const nameOffset = (k: number) => names.slice(0, k).reduce((n, s) => n + s.length + 1, 0);

  const dataAt = ehsize;
  const symtabAt = dataAt + spec.data.length + ((8 - (spec.data.length % 8)) % 8);
  const symtabSize = names.length * symsize;
  const strtabAt = symtabAt + symtabSize;
  const shoff = strtabAt + strtab.length + ((8 - (strtab.length % 8)) % 8);
  const file = new Uint8Array(shoff + 4 * shentsize);
  const v = new DataView(file.buffer);
  const word = (o: number, x: number) =>
    wide ? v.setBigUint64(o, BigInt(x), le) : v.setUint32(o, x, le);

  file.set([0x7f, 0x45, 0x4c, 0x46, wide ? 2 : 1, le ? 1 : 2, 1]);
  v.setUint16(16, 1, le); // ET_REL
  v.setUint16(18, spec.machine, le);
  v.setUint32(20, 1, le);
  word(wide ? 40 : 32, shoff);
  v.setUint16(wide ? 52 : 40, ehsize, le);
  v.setUint16(wide ? 58 : 46, shentsize, le);
  v.setUint16(wide ? 60 : 48, 4, le);
  file.set(spec.data, dataAt);
  file.set(strtab, strtabAt);

  spec.symbols.forEach((s, k) => {
    const at = symtabAt + (k + 1) * symsize;
    v.setUint32(at, nameOffset(k + 1), le);
    if (wide) {
      v.setUint16(at + 6, 1, le);
      v.setBigUint64(at + 8, BigInt(s.offset), le);
      v.setBigUint64(at + 16, BigInt(s.size), le);
    } else {
      v.setUint32(at + 4, s.offset, le);
      v.setUint32(at + 8, s.size, le);
      v.setUint16(at + 14, 1, le);
    }
  });

  // Sections: 0 null, 1 data (PROGBITS), 2 symtab (links to 3), 3 strtab.
  const section = (
    i: number,
    type: number,
    offset: number,
    size: number,
    link = 0,
    entsize = 0,
  ) => {
    const at = shoff + i * shentsize;
    v.setUint32(at + 4, type, le);
    word(wide ? at + 24 : at + 16, offset);
    word(wide ? at + 32 : at + 20, size);
    v.setUint32(wide ? at + 40 : at + 24, link, le);
    word(wide ? at + 56 : at + 36, entsize);
  };
  section(1, 1, dataAt, spec.data.length);
  section(2, 2, symtabAt, symtabSize, 3, symsize);
  section(3, 3, strtabAt, strtab.length);
  return file;
}

function words(values: bigint[], littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setBigUint64(i * 8, x, littleEndian));
  return out;
}

describe('the ELF reader of the ABI probe', () => {
  const values = [3n, 0x0102030405060708n, 2n ** 64n - 5n];
  for (const bits of [32, 64] as const) {
    for (const littleEndian of [true, false]) {
      it(`reads a symbol's words from a ${bits}-bit ${littleEndian ? 'little' : 'big'}-endian object`, () => {
        const data = words([0xdeadn, ...values], littleEndian);
        const file = buildElf({
          bits,
          littleEndian,
          machine: bits === 64 ? 183 : 20,
          data,
          symbols: [
            { name: 'viommu_abi_probe_not', offset: 0, size: 8 },
            { name: 'viommu_abi_probe', offset: 8, size: 24 },
          ],
        });
        const read = readElfSymbol(file, 'viommu_abi_probe');
        assert.deepEqual(
          { machine: read.machine, bits: read.bits, littleEndian: read.littleEndian },
          { machine: bits === 64 ? 'aarch64' : 'powerpc', bits, littleEndian },
        );
        assert.deepEqual(uint64Words(read), values);
      });
    }
  }

  const good = () =>
    buildElf({
      bits: 64,
      littleEndian: true,
      machine: 62,
      data: words(values, true),
      symbols: [{ name: 'viommu_abi_probe', offset: 0, size: 24 }],
    });

  it('names an unknown machine by its number', () => {
    const file = good();
    new DataView(file.buffer).setUint16(18, 4242, true);
    assert.equal(readElfSymbol(file, 'viommu_abi_probe').machine, 'machine 4242');
  });

  it('refuses what is not an ELF object, or is cut short, or lacks the symbol', () => {
    assert.throws(
      () => readElfSymbol(new TextEncoder().encode('!<arch>\nnot an object at all'), 'x'),
      /not write an ELF object/,
    );
    assert.throws(() => readElfSymbol(new Uint8Array(4), 'x'), /cut short/);
    const file = good();
    assert.throws(() => readElfSymbol(file.slice(0, 100), 'viommu_abi_probe'), /cut short/);
    assert.throws(() => readElfSymbol(file, 'viommu_abi'), /no symbol `viommu_abi`/);
    const wrongClass = good();
    wrongClass[4] = 7;
    assert.throws(() => readElfSymbol(wrongClass, 'viommu_abi_probe'), /unknown ELF class 7/);
    const outside = buildElf({
      bits: 64,
      littleEndian: true,
      machine: 62,
      data: words(values, true),
      symbols: [{ name: 'viommu_abi_probe', offset: 16, size: 24 }],
    });
    assert.throws(() => readElfSymbol(outside, 'viommu_abi_probe'), /lies outside its section/);
    assert.throws(() => readElfSymbol(new Uint8Array(4), 'x'), ElfError);
  });
});
