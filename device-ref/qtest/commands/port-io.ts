// Layer: qtest.
// outb/outw/outl ADDR VALUE → OK; inb/inw/inl ADDR → OK 0x%04x (QEMU's width: at least four
// digits, so inb answers "OK 0x00ff"). Ports stop at 0xffff; VALUE is truncated to the width.

import { CommandError } from '../arguments.js';
import { lowBits, type U64 } from '../c-number.js';
import type { PortSize } from '../target.js';
import { hex } from '../../hex.js';
import type { QtestCommand } from './command.js';

const SUFFIX = { 1: 'b', 2: 'w', 4: 'l' } as const;
const MAX_PORT = 0xffff;

function port(value: U64): number {
  if (value > MAX_PORT) throw new CommandError(`Port ${hex(value)} is beyond 0xffff`);
  return Number(value);
}

export function portOut(size: PortSize): QtestCommand {
  return {
    usage: `out${SUFFIX[size]} ADDR VALUE`,
    run(args, target) {
      const address = port(args.unsigned(1));
      target.portWrite(address, size, lowBits(args.unsigned(2), 8 * size));
      return 'OK';
    },
  };
}

export function portIn(size: PortSize): QtestCommand {
  return {
    usage: `in${SUFFIX[size]} ADDR`,
    run(args, target) {
      const value = target.portRead(port(args.unsigned(1)), size);
      return `OK 0x${value.toString(16).padStart(4, '0')}`;
    },
  };
}
