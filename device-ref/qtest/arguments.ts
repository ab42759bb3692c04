// Layer: qtest.
// A command's words, read against its usage line ("readb ADDR"). Where QEMU would abort on a
// missing or malformed argument, these throw CommandError, which the dispatcher turns into a
// FAIL reply.

import { parseSigned64, parseUnsigned64 } from './c-number.js';

export class CommandError extends Error {
  override name = 'CommandError';
}

const MAX_QUOTED_WORD = 64;

export class CommandArguments {
  readonly #words: readonly string[];
  readonly #usage: string;

  constructor(words: readonly string[], usage: string) {
    this.#words = words;
    this.#usage = usage;
  }

  has(index: number): boolean {
    return this.#words[index] !== undefined;
  }

  text(index: number): string {
    const word = this.#words[index];
    if (word === undefined) {
      throw new CommandError(`Missing argument ${this.#name(index)}: usage '${this.#usage}'`);
    }
    return word;
  }

  unsigned(index: number): bigint {
    return this.#number(index, parseUnsigned64);
  }

  signed(index: number): bigint {
    return this.#number(index, parseSigned64);
  }

  #number(index: number, parse: (word: string) => bigint | undefined): bigint {
    const word = this.text(index);
    const value = parse(word);
    if (value === undefined) {
      const shown = word.length > MAX_QUOTED_WORD ? `${word.slice(0, MAX_QUOTED_WORD)}...` : word;
      throw new CommandError(`Invalid number '${shown}' for ${this.#name(index)}`);
    }
    return value;
  }

  #name(index: number): string {
    return this.#usage.split(' ')[index]?.replace(/[[\]]/g, '') ?? `argument ${index}`;
  }
}
