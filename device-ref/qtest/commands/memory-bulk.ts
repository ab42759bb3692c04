// Layer: qtest.
// read ADDR SIZE → OK 0x<hex>; write ADDR SIZE 0x<hex> → OK; b64read ADDR SIZE → OK <base64>;
// b64write ADDR SIZE <base64> → OK; memset ADDR SIZE BYTE → OK. As in QEMU: `read` refuses
// SIZE 0 (QEMU aborts), `b64read` of 0 bytes answers "OK " (with the space), DATA of fewer
// than three characters gets "ERR invalid argument size", short DATA is zero-filled.

import { CommandError } from '../arguments.js';
import { lowBits } from '../c-number.js';
import { decodeLenientBase64, decodeQtestHex } from '../data-encoding.js';
import { memoryReply, transferSize, unbacked, type QtestCommand } from './command.js';

const INVALID_SIZE = 'ERR invalid argument size';

export const readHex: QtestCommand = {
  usage: 'read ADDR SIZE',
  run(args, target) {
    const address = args.unsigned(1);
    const size = args.unsigned(2);
    const length = transferSize(size);
    if (length === 0) throw new CommandError("SIZE 0 is not allowed for 'read'");
    if (!target.memoryBacked(address, length)) throw unbacked(address, size);
    return memoryReply(target, address, length, 'OK 0x', 'hex');
  },
};

export const readBase64: QtestCommand = {
  usage: 'b64read ADDR SIZE',
  run(args, target) {
    const address = args.unsigned(1);
    const size = args.unsigned(2);
    const length = transferSize(size);
    if (!target.memoryBacked(address, length)) throw unbacked(address, size);
    return memoryReply(target, address, length, 'OK ', 'base64');
  },
};

export const writeHex: QtestCommand = {
  usage: 'write ADDR SIZE DATA',
  run(args, target) {
    const address = args.unsigned(1);
    const size = args.unsigned(2);
    const data = args.text(3);
    if (data.length < 3) return INVALID_SIZE;
    if (!target.memoryWrite(address, decodeQtestHex(data, transferSize(size))))
      throw unbacked(address, size);
    return 'OK';
  },
};

export const writeBase64: QtestCommand = {
  usage: 'b64write ADDR SIZE DATA',
  run(args, target) {
    const address = args.unsigned(1);
    const size = args.unsigned(2);
    const data = args.text(3);
    if (data.length < 3) return INVALID_SIZE;
    // QEMU writes SIZE bytes whatever the data decodes to: past the decoded bytes, zeros.
    const bytes = decodeLenientBase64(data, transferSize(size));
    if (!target.memoryWrite(address, bytes)) throw unbacked(address, size);
    return 'OK';
  },
};

export const memset: QtestCommand = {
  usage: 'memset ADDR SIZE BYTE',
  run(args, target) {
    const address = args.unsigned(1);
    const size = args.unsigned(2);
    const byte = lowBits(args.unsigned(3), 8);
    if (!target.memoryFill(address, BigInt(size), byte)) throw unbacked(address, size);
    return 'OK';
  },
};
