// Layer: qtest.
// writeb/w/l/q ADDR VALUE → OK; readb/w/l/q ADDR → OK 0x%016x (always 16 digits), in the
// guest's (little-endian) byte order. VALUE is truncated to the width.

import { littleEndianBytes, littleEndianHex, unbacked, type QtestCommand } from './command.js';

export type WordSize = 1 | 2 | 4 | 8;
const SUFFIX = { 1: 'b', 2: 'w', 4: 'l', 8: 'q' } as const;

export function memoryWriteWord(size: WordSize): QtestCommand {
  return {
    usage: `write${SUFFIX[size]} ADDR VALUE`,
    run(args, target) {
      const address = args.unsigned(1);
      const value = args.unsigned(2);
      if (!target.memoryWrite(address, littleEndianBytes(value, size)))
        throw unbacked(address, size);
      return 'OK';
    },
  };
}

export function memoryReadWord(size: WordSize): QtestCommand {
  return {
    usage: `read${SUFFIX[size]} ADDR`,
    run(args, target) {
      const address = args.unsigned(1);
      const bytes = target.memoryRead(address, size);
      if (bytes === undefined) throw unbacked(address, size);
      return `OK 0x${littleEndianHex(bytes).padStart(16, '0')}`;
    },
  };
}
