// binary-parser's decoders for the same structs: the benchmark's third decoder (it only
// decodes).

// The package's exports map hides its types from ESM imports; its CommonJS build has them.
import { Parser } from 'binary-parser/dist/binary_parser.js';
import type { RequestTail } from '../../dist/ts/index.js';
import { PROBE_SIZE } from './fixtures.js';

const bpHead = new Parser().uint8('type').buffer('reserved', { length: 3, clone: true });
const bpTail = new Parser().uint8('status').buffer('reserved', { length: 3, clone: true });
export const bp = {
  attach: new Parser()
    .endianness('little')
    .nest('head', { type: bpHead })
    .uint32('domain')
    .uint32('endpoint')
    .uint32('flags')
    .buffer('reserved', { length: 4, clone: true })
    .nest('tail', { type: bpTail }),
  map: new Parser()
    .endianness('little')
    .nest('head', { type: bpHead })
    .uint32('domain')
    .uint64('virt_start')
    .uint64('virt_end')
    .uint64('phys_start')
    .uint32('flags')
    .nest('tail', { type: bpTail }),
  unmap: new Parser()
    .endianness('little')
    .nest('head', { type: bpHead })
    .uint32('domain')
    .uint64('virt_start')
    .uint64('virt_end')
    .buffer('reserved', { length: 4, clone: true })
    .nest('tail', { type: bpTail }),
  fault: new Parser()
    .endianness('little')
    .uint8('reason')
    .buffer('reserved', { length: 3, clone: true })
    .uint32('flags')
    .uint32('endpoint')
    .uint32('reserved1')
    .uint64('address'),
  // The property list up to the empty property (which the array keeps as its last entry),
  // then the tail at probe_size.
  probe: new Parser()
    .endianness('little')
    .array('properties', {
      type: new Parser()
        .endianness('little')
        .uint16('word')
        .uint16('length')
        .choice({
          tag: function (this: { word: number }) {
            return this.word & 0xfff;
          },
          choices: {
            0: new Parser(),
            1: new Parser()
              .endianness('little')
              .uint8('subtype')
              .buffer('reserved', { length: 3, clone: true })
              .uint64('start')
              .uint64('end')
              .seek(function (this: { length: number }) {
                return this.length - 20;
              }),
          },
          defaultChoice: new Parser().seek(function (this: { length: number }) {
            return this.length;
          }),
        }),
      readUntil: (item: { word: number }) => (item.word & 0xfff) === 0,
    })
    .pointer('tail', { type: bpTail, offset: PROBE_SIZE }),
};

/** binary-parser's PROBE reply, before it is put in the shape of the other decoders. */
export interface BpProbe {
  properties: {
    word: number;
    length: number;
    subtype: number;
    reserved: Uint8Array;
    start: bigint;
    end: bigint;
  }[];
  tail: RequestTail;
}
