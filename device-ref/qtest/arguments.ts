// Layer: qtest.
// A command's words, read against its usage line ("readb ADDR"). Words are split on single
// spaces, as QEMU's g_strsplit(line, " ") splits them, but only as far as a command reads:
// each word is known by where it ends in the line, and numbers are read from the line in
// place, so a command costs no array of words and no substring per number. Where QEMU would
// abort on a missing or malformed argument, these throw CommandError, which the dispatcher
// turns into a FAIL reply.

import { parseSigned64, parseUnsigned64, type U64 } from './c-number.js';

export class CommandError extends Error {
  override name = 'CommandError';
}

const MAX_QUOTED_WORD = 64;
/** The most words a command reads: its name and three arguments. */
const MAX_WORDS = 4;

export class CommandArguments {
  readonly #line: string;
  readonly #usage: string;
  /** Where each word ends (at a space or the line's end); the first #count entries hold. */
  readonly #ends: number[];
  readonly #count: number;

  /** The words of `line`, whose first (the command's name) ends at `nameEnd`. */
  constructor(line: string, nameEnd: number, usage: string) {
    this.#line = line;
    this.#usage = usage;
    // One array of MAX_WORDS from the start: an array grown by push() would allocate more.
    const ends = [nameEnd, 0, 0, 0]; // MAX_WORDS entries
    let count = 1;
    for (let end = nameEnd; end < line.length && count < MAX_WORDS; ends[count++] = end) {
      const space = line.indexOf(' ', end + 1);
      end = space < 0 ? line.length : space;
    }
    this.#ends = ends;
    this.#count = count;
  }

  has(index: number): boolean {
    return index < this.#count;
  }

  text(index: number): string {
    return this.#line.slice(this.#start(index), this.#ends[index]);
  }

  unsigned(index: number): U64 {
    return this.#number(index, parseUnsigned64);
  }

  signed(index: number): U64 {
    return this.#number(index, parseSigned64);
  }

  #number(
    index: number,
    parse: (text: string, start: number, end: number) => U64 | undefined,
  ): U64 {
    const value = parse(this.#line, this.#start(index), this.#ends[index]!);
    if (value === undefined) {
      const word = this.text(index);
      const shown = word.length > MAX_QUOTED_WORD ? `${word.slice(0, MAX_QUOTED_WORD)}...` : word;
      throw new CommandError(`Invalid number '${shown}' for ${this.#name(index)}`);
    }
    return value;
  }

  /** Where word `index` starts; throws when the line has no such word. */
  #start(index: number): number {
    if (!this.has(index)) {
      throw new CommandError(`Missing argument ${this.#name(index)}: usage '${this.#usage}'`);
    }
    return index === 0 ? 0 : this.#ends[index - 1]! + 1;
  }

  #name(index: number): string {
    return this.#usage.split(' ')[index]?.replace(/[[\]]/g, '') ?? `argument ${index}`;
  }
}
