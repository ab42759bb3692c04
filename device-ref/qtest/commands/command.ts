// The shape of one qtest command handler, and helpers the handlers share.

import { CommandError, type CommandArguments } from '../arguments.js';
import { hex } from '../../hex.js';
import type { QtestTarget } from '../target.js';

export interface QtestCommand {
  /** The usage line, e.g. "readb ADDR"; names arguments in error replies. */
  readonly usage: string;
  /** Returns the reply line without its newline. */
  run(args: CommandArguments, target: QtestTarget): string;
}

/** The most bytes one read/write/b64read/b64write may move: keeps replies and lines bounded. */
export const MAX_TRANSFER_BYTES = 16 * 1024 * 1024;

export function unbacked(address: bigint, length: bigint): CommandError {
  return new CommandError(
    `Guest-physical range ${hex(address)}+${hex(length)} is not backed by RAM or an enabled BAR`,
  );
}

/** A transfer size as a number, refused above MAX_TRANSFER_BYTES. */
export function transferSize(size: bigint): number {
  if (size > BigInt(MAX_TRANSFER_BYTES)) {
    throw new CommandError(
      `Size ${hex(size)} is more than the ${MAX_TRANSFER_BYTES} bytes one command may move`,
    );
  }
  return Number(size);
}

export function littleEndianBytes(value: bigint, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return bytes;
}

export function littleEndianValue(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}
