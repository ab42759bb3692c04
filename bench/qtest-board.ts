// device-ref's side of a request round, without a socket: a q35 board driven by the qtest
// command lines that bench/request-ring.ts sends over the socket (the requests and tails,
// descriptors, available ring entries, avail->idx, the notify, then used->idx, the used
// ring and the tails read back), run by the qtest dispatcher one line at a time, as the
// server runs them. What a round costs here is what device-ref spends on it; the socket
// adds the kernel and the client.

import { createBoard, type Board } from '../device-ref/board/board.js';
import { loadBoardDescription } from '../device-ref/board/description.js';
import { createIommuModel } from '../device-ref/board/iommu-model.js';
import { executeCommandLine } from '../device-ref/qtest/dispatch.js';

/** Where the setup places BAR 4 of virtio-iommu (00:01.0): common config, ISR, device config, notify. */
const BAR = 0xe000_0000;
const NOTIFY = BAR + 0x3000;
const QUEUE_SIZE = 256;
const DESC = 0x100_0000;
const AVAIL = DESC + 16 * QUEUE_SIZE;
const USED = AVAIL + 0x1000;
const DATA = USED + 0x1000;
const STRIDE = 64;
const TAIL_AT = 48;

const hex = (value: number | bigint): string => `0x${value.toString(16)}`;
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export class QtestBoard {
  readonly board: Board;
  #availIdx = 0;

  constructor() {
    this.board = createBoard(loadBoardDescription('q35'), { iommuModel: createIommuModel });
    const configWrite = (offset: number, size: 'l' | 'w', value: number): void => {
      this.run(`outl 0xcf8 ${hex((0x8000_0000 | (1 << 11) | offset) >>> 0)}`);
      this.run(`out${size} 0xcfc ${hex(value)}`);
    };
    configWrite(0x20, 'l', BAR); // BAR 4, low half
    configWrite(0x24, 'l', 0);
    configWrite(0x04, 'w', 0x6); // memory space and bus master
    const common = (offset: number, size: 'b' | 'w' | 'l', value: number): void => {
      this.run(`write${size} ${hex(BAR + offset)} ${hex(value)}`);
    };
    common(0x14, 'b', 0); // device_status: reset
    common(0x14, 'b', 1 | 2); // ACKNOWLEDGE, DRIVER
    common(0x08, 'l', 0); // driver_feature_select 0: INPUT_RANGE, DOMAIN_RANGE, MAP_UNMAP, PROBE
    common(0x0c, 'l', 0x17);
    common(0x08, 'l', 1); // driver_feature_select 1: VIRTIO_F_VERSION_1
    common(0x0c, 'l', 1);
    common(0x14, 'b', 1 | 2 | 8); // FEATURES_OK
    common(0x16, 'w', 0); // queue_select: requestq
    common(0x18, 'w', QUEUE_SIZE);
    common(0x20, 'l', DESC);
    common(0x28, 'l', AVAIL);
    common(0x30, 'l', USED);
    common(0x1c, 'w', 1); // queue_enable
    common(0x14, 'b', 1 | 2 | 4 | 8); // DRIVER_OK
  }

  /** One qtest line through the dispatcher; a reply other than OK is an error here. */
  run(line: string): string {
    const reply = executeCommandLine(this.board, line);
    if (!reply.startsWith('OK')) throw new Error(`${line.slice(0, 60)}: ${reply}`);
    return reply;
  }

  /**
   * The lines of one round that makes `requests` (device-readable parts) available with one
   * notify. Lines depend on the ring position, so a round is made right before it runs.
   */
  round(requests: readonly Uint8Array[]): string[] {
    const count = requests.length;
    const image = new Uint8Array(STRIDE * count);
    const table = new DataView(new ArrayBuffer(32 * count));
    const avail = new DataView(new ArrayBuffer(2 * count));
    requests.forEach((readable, j) => {
      image.set(readable, STRIDE * j);
      image.fill(0xff, STRIDE * j + TAIL_AT, STRIDE * j + TAIL_AT + 4);
      const at = BigInt(DATA + STRIDE * j);
      table.setBigUint64(32 * j, at, true);
      table.setUint32(32 * j + 8, readable.length, true);
      table.setUint16(32 * j + 12, 1, true); // NEXT
      table.setUint16(32 * j + 14, 2 * j + 1, true);
      table.setBigUint64(32 * j + 16, at + BigInt(TAIL_AT), true);
      table.setUint32(32 * j + 24, 4, true);
      table.setUint16(32 * j + 28, 2, true); // WRITE
      avail.setUint16(2 * j, 2 * j, true);
    });
    const first = this.#availIdx;
    this.#availIdx = (this.#availIdx + count) & 0xffff;
    const runs = ringRuns(first, count);
    const bytes = (view: DataView, from: number, length: number) =>
      new Uint8Array(view.buffer, from, length);
    return [
      `b64write ${hex(DATA)} ${image.length} ${b64(image)}`,
      `b64write ${hex(DESC)} ${table.byteLength} ${b64(bytes(table, 0, table.byteLength))}`,
      ...runs.map(
        ({ slot, from, length }) =>
          `b64write ${hex(AVAIL + 4 + 2 * slot)} ${2 * length} ${b64(bytes(avail, 2 * from, 2 * length))}`,
      ),
      `writew ${hex(AVAIL + 2)} ${hex(this.#availIdx)}`,
      `writew ${hex(NOTIFY)} 0x0`,
      `readw ${hex(USED + 2)}`,
      ...runs.map(({ slot, length }) => `b64read ${hex(USED + 4 + 8 * slot)} ${8 * length}`),
      `b64read ${hex(DATA)} ${image.length}`,
    ];
  }

  /** Runs a round's lines; returns the reply of its last (the tails, in base64). */
  serve(lines: readonly string[]): string {
    let reply = '';
    for (const line of lines) reply = this.run(line);
    return reply;
  }

  /** The status of request `j` in the tails a round's last reply carries. */
  static status(reply: string, j: number): number {
    return Buffer.from(reply.slice(3), 'base64')[STRIDE * j + TAIL_AT]!;
  }
}

/** Ring entries [index, index + count) as runs that do not wrap the ring. */
function ringRuns(index: number, count: number): { slot: number; from: number; length: number }[] {
  const slot = index % QUEUE_SIZE;
  const first = Math.min(count, QUEUE_SIZE - slot);
  return first === count
    ? [{ slot, from: 0, length: count }]
    : [
        { slot, from: 0, length: first },
        { slot: 0, from: first, length: count - first },
      ];
}
