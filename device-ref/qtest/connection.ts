// One client connection: bytes in, lines out. Lines end at '\n' only, as in QEMU; bytes are
// taken as Latin-1 so any byte round-trips (an unknown command is echoed byte for byte).
// Every complete line in a chunk is executed in order and the replies leave in one write, so
// pipelined commands cost one round trip. A line that grows past MAX_LINE_BYTES gets one FAIL
// and is skipped up to its newline; a client that stops reading replies is paused.

import type { Socket } from 'node:net';
import { executeCommandLine } from './dispatch.js';
import type { QtestTarget } from './target.js';

/** Enough for a `write` of the largest transfer (two hex digits per byte) plus its words. */
export const MAX_LINE_BYTES = 40 * 1024 * 1024;

export function serveConnection(socket: Socket, target: QtestTarget): void {
  let partial: string[] = [];
  let partialLength = 0;
  let skipping = false;

  socket.on('data', (chunk: Buffer) => {
    const text = chunk.toString('latin1');
    const replies: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      const tail = text.slice(start, end);
      start = end + 1;
      if (skipping) {
        skipping = false;
      } else if (partialLength + tail.length > MAX_LINE_BYTES) {
        replies.push(tooLong());
      } else {
        replies.push(
          executeCommandLine(target, partial.length === 0 ? tail : partial.join('') + tail),
        );
      }
      partial = [];
      partialLength = 0;
    }
    if (start < text.length && !skipping) {
      partial.push(text.slice(start));
      partialLength += text.length - start;
      if (partialLength > MAX_LINE_BYTES) {
        replies.push(tooLong());
        partial = [];
        partialLength = 0;
        skipping = true;
      }
    }
    if (replies.length > 0 && !socket.write(`${replies.join('\n')}\n`, 'latin1')) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
}

function tooLong(): string {
  return `FAIL Line longer than ${MAX_LINE_BYTES} bytes`;
}
