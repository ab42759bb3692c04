// Layer: qtest.
// The shape of one qtest command handler, and helpers the handlers share.

import { CommandError, type CommandArguments } from '../arguments.js';
import { lowBits, type U64 } from '../c-number.js';
import { hex } from '../../hex.js';
import type { QtestTarget } from '../target.js';

/**
 * The reply of `read` or `b64read`: `prefix` then `length` bytes of guest memory in hex or
 * base64. The bytes are read when the reply is written, so that a server can read, encode
 * and send a reply of up to 32 MiB of text a piece at a time. (Nothing else runs on the
 * board between the command and its reply: the bytes are those of the moment of the command.)
 */
export interface DataReply {
  readonly prefix: string;
  readonly length: number;
  readonly encoding: 'hex' | 'base64';
  /** `length` bytes from `offset` of the data; the range is backed (checked by the command). */
  read(offset: number, length: number): Uint8Array;
}

/** The reply of reading `length` bytes at `address`, once the command has checked them. */
export function memoryReply(
  target: QtestTarget,
  address: U64,
  length: number,
  prefix: string,
  encoding: DataReply['encoding'],
): DataReply {
  return {
    prefix,
    length,
    encoding,
    read: (offset, count) =>
      target.memoryRead(
        typeof address === 'number' ? address + offset : address + BigInt(offset),
        count,
      )!,
  };
}

/** A reply line without its newline, or a data reply. */
export type QtestReply = string | DataReply;

export interface QtestCommand {
  /** The usage line, e.g. "readb ADDR"; names arguments in error replies. */
  readonly usage: string;
  run(args: CommandArguments, target: QtestTarget): QtestReply;
}

/** `bytes` as text in `encoding` (for base64, pieces must start at multiples of 3 bytes). */
export function encodeData(bytes: Uint8Array, encoding: DataReply['encoding']): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString(encoding);
}

/** The whole reply line, without its newline. */
export function replyText(reply: QtestReply): string {
  return typeof reply === 'string'
    ? reply
    : reply.prefix + encodeData(reply.read(0, reply.length), reply.encoding);
}

/** The most bytes one read/write/b64read/b64write may move: keeps replies and lines bounded. */
export const MAX_TRANSFER_BYTES = 16 * 1024 * 1024;

export function unbacked(address: U64, length: U64): CommandError {
  return new CommandError(
    `Guest-physical range ${hex(address)}+${hex(length)} is not backed by RAM or an enabled BAR`,
  );
}

/** A transfer size as a number, refused above MAX_TRANSFER_BYTES. */
export function transferSize(size: U64): number {
  if (size > MAX_TRANSFER_BYTES) {
    throw new CommandError(
      `Size ${hex(size)} is more than the ${MAX_TRANSFER_BYTES} bytes one command may move`,
    );
  }
  return Number(size);
}

/** The low `size` bytes of `value`, least significant first (in 32-bit halves: no BigInt per byte). */
export function littleEndianBytes(value: U64, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const low = lowBits(value, 32);
  const high =
    size <= 4
      ? 0
      : typeof value === 'number'
        ? Math.floor(value / 2 ** 32)
        : lowBits(value >> 32n, 32);
  for (let i = 0; i < size; i++) bytes[i] = i < 4 ? low >>> (8 * i) : high >>> (8 * (i - 4));
  return bytes;
}

/** The value of up to 8 little-endian bytes, as lower-case hex digits without a prefix. */
export function littleEndianHex(bytes: Uint8Array): string {
  let low = 0;
  let high = 0;
  for (let i = Math.min(bytes.length, 4) - 1; i >= 0; i--) low = low * 256 + bytes[i]!;
  for (let i = bytes.length - 1; i >= 4; i--) high = high * 256 + bytes[i]!;
  return high === 0 ? low.toString(16) : high.toString(16) + low.toString(16).padStart(8, '0');
}
