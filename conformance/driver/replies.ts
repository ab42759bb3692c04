// What the driver makes of a used request buffer: the result a test judges, and the rule of
// the spec every reply is held to whatever test sent the request (dev.req.tail-reserved), and
// every returned buffer (dev.vq.readable-untouched).

import { statusName } from '../../dist/ts/index.js';
import type { RingFinding, UsedBuffer } from '../virtio/split-virtqueue.js';
import { requestName } from './requests.js';

export interface RequestResult {
  /** The device-readable bytes sent. */
  request: Uint8Array;
  /** Used length the device returned. */
  usedLen: number;
  /** The device-writable part as it was after completion (0xff where nothing was written). */
  reply: Uint8Array;
  /** `tail.status`, when the used length covers the whole device-writable part. */
  status: number | undefined;
}

/** A rule of the spec that some reply broke, whatever test sent the request. */
export interface ReplyFinding {
  statement: string;
  message: string;
  request: Uint8Array;
  reply: Uint8Array;
}

/** A used request buffer as a result: `tail.status` only when the device wrote the whole tail. */
export function requestResult(
  request: Uint8Array,
  writableLength: number,
  used: UsedBuffer,
): RequestResult {
  const status =
    used.usedLen >= writableLength && writableLength >= 4
      ? used.writtenBytes[writableLength - 4]
      : undefined;
  return { request, usedLen: used.usedLen, reply: used.writtenBytes, status };
}

/** dev.req.tail-reserved: a finding when the device wrote the tail with reserved bytes set. */
export function tailFinding(result: RequestResult): ReplyFinding | undefined {
  if (result.status === undefined) return undefined;
  const reply = result.reply;
  const end = reply.length;
  if ((reply[end - 3]! | reply[end - 2]! | reply[end - 1]!) === 0) return undefined;
  const reserved = reply.subarray(end - 3);
  return {
    statement: 'dev.req.tail-reserved',
    message: `${requestName(result.request)} answered ${statusName(result.status)} with tail.reserved ${Buffer.from(reserved).toString('hex')}`,
    request: result.request,
    reply: result.reply,
  };
}

/** dev.vq.readable-untouched: the queue saw a device-readable byte change (split-virtqueue.ts). */
export function ringFinding(finding: RingFinding): ReplyFinding {
  return {
    statement: 'dev.vq.readable-untouched',
    message: finding.message,
    request: finding.written,
    reply: finding.found,
  };
}
