// Reads the initial bytes of one named object from an ELF relocatable object file (what
// `cc -c` writes): the ELF header, the section headers, the symbol table and the section the
// symbol lives in. 32- and 64-bit, little- and big-endian, so a cross compiler's object reads
// the same way as the host's. Nothing of the object is loaded or run.

export class ElfError extends Error {}

export interface ElfSymbolData {
  /** The object's architecture, from e_machine (`x86-64`, `aarch64`, or `machine 42`). */
  machine: string;
  bits: 32 | 64;
  littleEndian: boolean;
  /** The symbol's initial contents, as many bytes as its st_size says. */
  bytes: Uint8Array;
}

const MACHINES: Record<number, string> = {
  3: 'i386',
  8: 'mips',
  20: 'powerpc',
  21: 'powerpc64',
  22: 's390',
  40: 'arm',
  62: 'x86-64',
  183: 'aarch64',
  243: 'riscv',
  258: 'loongarch',
};

const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;

export function readElfSymbol(file: Uint8Array, name: string): ElfSymbolData {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const need = (offset: number, length: number, what: string) => {
    if (offset < 0 || length < 0 || offset + length > file.byteLength)
      throw new ElfError(
        `the object file is cut short: ${what} lies outside its ${file.byteLength} bytes`,
      );
  };
  need(0, 16, 'the ELF identification');
  if (file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46)
    throw new ElfError('the compiler did not write an ELF object file');
  const elfClass = file[4];
  const encoding = file[5];
  if (elfClass !== 1 && elfClass !== 2)
    throw new ElfError(`unknown ELF class ${elfClass} (neither 32- nor 64-bit)`);
  if (encoding !== 1 && encoding !== 2)
    throw new ElfError(`unknown ELF data encoding ${encoding} (neither little- nor big-endian)`);
  const wide = elfClass === 2;
  const le = encoding === 1;
  const u16 = (o: number) => view.getUint16(o, le);
  const u32 = (o: number) => view.getUint32(o, le);
  /** A 32-bit word in ELF32, a 64-bit one in ELF64 (addresses, offsets, sizes). */
  const word = (o: number): number => {
    if (!wide) return u32(o);
    const v = view.getBigUint64(o, le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new ElfError(`an offset or size is too large: ${v}`);
    return Number(v);
  };

  need(0, wide ? 64 : 52, 'the ELF header');
  const machineCode = u16(18);
  const shoff = word(wide ? 40 : 32);
  const shentsize = u16(wide ? 58 : 46);
  const shnum = u16(wide ? 60 : 48);
  if (shoff === 0 || shnum === 0) throw new ElfError('the object file has no section headers');
  if (shentsize < (wide ? 64 : 40))
    throw new ElfError(`section header entries of ${shentsize} bytes are too small`);
  need(shoff, shnum * shentsize, 'the section header table');

  interface Section {
    type: number;
    offset: number;
    size: number;
    link: number;
    entsize: number;
  }
  const section = (i: number): Section => {
    if (i >= shnum) throw new ElfError(`section ${i} does not exist (there are ${shnum})`);
    const at = shoff + i * shentsize;
    return {
      type: u32(at + 4),
      offset: word(wide ? at + 24 : at + 16),
      size: word(wide ? at + 32 : at + 20),
      link: u32(wide ? at + 40 : at + 24),
      entsize: word(wide ? at + 56 : at + 36),
    };
  };

  let symtab: Section | undefined;
  for (let i = 0; i < shnum && !symtab; i++)
    if (section(i).type === SHT_SYMTAB) symtab = section(i);
  if (!symtab) throw new ElfError('the object file has no symbol table');
  const symsize = wide ? 24 : 16;
  if (symtab.entsize < symsize)
    throw new ElfError(`symbol entries of ${symtab.entsize} bytes are too small`);
  need(symtab.offset, symtab.size, 'the symbol table');
  const strtab = section(symtab.link);
  need(strtab.offset, strtab.size, 'the symbol names');
  const wanted = new TextEncoder().encode(name);

  const nameIs = (at: number): boolean => {
    if (at + wanted.length >= strtab.size) return false;
    const start = strtab.offset + at;
    for (let k = 0; k < wanted.length; k++) if (file[start + k] !== wanted[k]) return false;
    return file[start + wanted.length] === 0;
  };

  for (let at = symtab.offset; at + symsize <= symtab.offset + symtab.size; at += symtab.entsize) {
    if (!nameIs(u32(at))) continue;
    const value = word(wide ? at + 8 : at + 4);
    const size = word(wide ? at + 16 : at + 8);
    const shndx = u16(wide ? at + 6 : at + 14);
    if (shndx === SHN_UNDEF || shndx >= SHN_LORESERVE)
      throw new ElfError(`\`${name}\` is not defined in a section of the object file`);
    const home = section(shndx);
    if (value + size > home.size)
      throw new ElfError(`\`${name}\` (${size} bytes at ${value}) lies outside its section`);
    let bytes: Uint8Array;
    if (home.type === SHT_NOBITS) bytes = new Uint8Array(size);
    else {
      need(home.offset + value, size, `\`${name}\``);
      bytes = file.slice(home.offset + value, home.offset + value + size);
    }
    return {
      machine: MACHINES[machineCode] ?? `machine ${machineCode}`,
      bits: wide ? 64 : 32,
      littleEndian: le,
      bytes,
    };
  }
  throw new ElfError(`the object file has no symbol \`${name}\``);
}

/** The bytes as unsigned 64-bit words in the object's byte order. */
export function uint64Words(data: ElfSymbolData): bigint[] {
  const { bytes } = data;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words: bigint[] = [];
  for (let o = 0; o + 8 <= bytes.byteLength; o += 8)
    words.push(view.getBigUint64(o, data.littleEndian));
  return words;
}
