// A qtest peer with one virtqueue behind it, small enough to misbehave on purpose: it serves
// guest RAM over the qtest memory commands and, on a notify, returns each available buffer
// with a reply of its own, when and how a test tells it to (late, with a wrong id or length,
// with an IRQ line among the replies). Tests of the driver side's request path use it.

import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { QtestClient } from '../../qtest/client.js';
import type { QueueAddresses } from '../../virtio/split-ring.js';
import type { RingFinding, VirtqueueHost } from '../../virtio/split-virtqueue.js';

export const RAM_BASE = 0x10_0000;
const RAM_SIZE = 0x4_0000;
const NOTIFY_ADDRESS = 0xe000_0000;
const QUEUE_SIZE = 16;

/** When the device returns the buffers a notify made available. */
export type Timing =
  | { kind: 'at-notify' }
  /** After this many more commands have been answered (0: right after the notify's reply). */
  | { kind: 'after-commands'; commands: number }
  | { kind: 'after-ms'; ms: number }
  | { kind: 'never' };

export interface Behaviour {
  timing: Timing;
  /** Added to the head id the device returns (0: the right id). */
  idShift: number;
  /** The used length the device reports; default: the bytes it wrote. */
  usedLen: number | undefined;
  /** An `IRQ raise` line written right after the buffers are used. */
  irq: boolean;
  /** Also overwrite the first byte of every device-readable buffer with 0xee. */
  scribble?: boolean;
  /** Moves used->idx this much further than the buffers it used. */
  extraUsed?: number;
}

export class FakeQueueDevice {
  readonly ram = new Uint8Array(RAM_SIZE);
  /** What the queues on host found the device did to device-readable buffers. */
  readonly ringFindings: RingFinding[] = [];
  /** Every command line received, in order. */
  readonly lines: string[] = [];
  /** How many socket reads the command lines came in. */
  chunks = 0;
  behaviour: Behaviour = {
    timing: { kind: 'at-notify' },
    idShift: 0,
    usedLen: undefined,
    irq: false,
  };
  queue: QueueAddresses | undefined;
  #lastAvail = 0;
  #usedIdx = 0;
  /** Commands to answer before the pending buffers are used; undefined: none pending. */
  #countdown: number | undefined;
  #peer: Socket | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  /** Set once start() has connected. */
  client!: QtestClient;

  private constructor(readonly server: Server) {}

  static async start(): Promise<FakeQueueDevice> {
    const server = createServer();
    const device = new FakeQueueDevice(server);
    server.on('connection', (peer: Socket) => device.#serve(peer));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    await once(socket, 'connect');
    device.client = new QtestClient(socket, { replyTimeoutMs: 2000 });
    return device;
  }

  /** The transport side a SplitVirtqueue needs, with the notify going over qtest. */
  get host(): VirtqueueHost {
    return {
      qtest: this.client,
      ringFindings: this.ringFindings,
      queueMaxSize: () => Promise.resolve(QUEUE_SIZE),
      configureQueue: (_index, queue) => {
        this.queue = queue;
        return Promise.resolve();
      },
      enableQueue: () => Promise.resolve(),
      notify: (index) => this.client.writew(NOTIFY_ADDRESS, index),
    };
  }

  async close(): Promise<void> {
    this.#timers.forEach(clearTimeout);
    await this.client.close();
    this.#peer?.destroy();
    this.server.close();
  }

  #serve(peer: Socket): void {
    this.#peer = peer;
    peer.setEncoding('latin1');
    let partial = '';
    peer.on('data', (chunk: string) => {
      this.chunks++;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      let out = '';
      for (const line of lines) {
        this.lines.push(line);
        out += `${this.#execute(line)}\n`;
        if (this.#countdown !== undefined && this.#countdown-- === 0) {
          this.#countdown = undefined;
          out += this.#useBuffers();
        }
      }
      peer.write(out, 'latin1');
    });
    peer.on('error', () => undefined);
  }

  #execute(line: string): string {
    const [command, a, b, c] = line.split(' ');
    const address = Number(a);

    if (command === 'writew' && address === NOTIFY_ADDRESS) return `${this.#notified()}OK`;
    try {
      return this.#memory(command, address, b, c);
    } catch (error) {
      return `FAIL ${(error as Error).message}`;
    }
  }

  #memory(command: string | undefined, address: number, b?: string, c?: string): string {
    switch (command) {
      case 'b64write':
        this.ram.set(Buffer.from(c!, 'base64'), this.#at(address, Number(b)));
        return 'OK';
      case 'b64read': {
        const at = this.#at(address, Number(b));
        return `OK ${Buffer.from(this.ram.subarray(at, at + Number(b))).toString('base64')}`;
      }
      case 'memset':
        this.ram.fill(
          Number(c),
          this.#at(address, Number(b)),
          this.#at(address, Number(b)) + Number(b),
        );
        return 'OK';
      case 'writew':
        this.#put16(address, Number(b));
        return 'OK';
      case 'readw':
        return `OK 0x${this.#get16(address).toString(16).padStart(16, '0')}`;
      default:
        return `FAIL Unknown command '${command}'`;
    }
  }

  /** What the device sends before the notify's reply (an IRQ line, if it used buffers). */
  #notified(): string {
    const timing = this.behaviour.timing;
    // Within the notify's own command, before its reply: as device-ref and QEMU under TCG.
    if (timing.kind === 'at-notify') return this.#useBuffers();
    if (timing.kind === 'after-commands') {
      this.#countdown = timing.commands;
    } else if (timing.kind === 'after-ms') {
      this.#later(timing.ms, () => this.#peer?.write(this.#useBuffers()));
    }
    return '';
  }

  #later(ms: number, work: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      work();
    }, ms);
    this.#timers.add(timer);
  }

  /** Returns every available buffer (direct chains): a zero status tail, then the used element. */
  #useBuffers(): string {
    const queue = this.queue!;
    const driver = Number(queue.driver);
    const availIdx = this.#get16(driver + 2);
    let used = 0;
    for (; this.#lastAvail !== availIdx; this.#lastAvail = (this.#lastAvail + 1) & 0xffff) {
      const head = this.#get16(driver + 4 + 2 * (this.#lastAvail % queue.size));
      let written = 0;
      for (let d = head; ;) {
        const entry = this.#at(Number(queue.desc) + 16 * d, 16);
        const view = Buffer.from(this.ram.buffer, entry, 16);
        const address = Number(view.readBigUInt64LE(0));
        const length = view.readUInt32LE(8);
        const flags = view.readUInt16LE(12);
        if ((flags & 2) !== 0) {
          this.ram.fill(0, this.#at(address, length), this.#at(address, length) + length);
          written += length;
        } else if (this.behaviour.scribble === true && length > 0) {
          this.ram[this.#at(address, 1)] = 0xee;
        }
        if ((flags & 1) === 0) break;
        d = view.readUInt16LE(14);
      }
      const element = Number(queue.device) + 4 + 8 * (this.#usedIdx % queue.size);
      const view = Buffer.from(this.ram.buffer, this.#at(element, 8), 8);
      view.writeUInt32LE((head + this.behaviour.idShift) >>> 0, 0);
      view.writeUInt32LE(this.behaviour.usedLen ?? written, 4);
      this.#usedIdx = (this.#usedIdx + 1) & 0xffff;
      this.#put16(Number(queue.device) + 2, this.#usedIdx);
      used++;
    }
    if (used > 0 && this.behaviour.extraUsed !== undefined) {
      this.#usedIdx = (this.#usedIdx + this.behaviour.extraUsed) & 0xffff;
      this.#put16(Number(queue.device) + 2, this.#usedIdx);
    }
    return used > 0 && this.behaviour.irq ? 'IRQ raise 10\n' : '';
  }

  #at(address: number, length: number): number {
    const at = address - RAM_BASE;
    if (at < 0 || at + length > RAM_SIZE)
      throw new RangeError(`0x${address.toString(16)} is not RAM`);
    return at;
  }

  #get16(address: number): number {
    const at = this.#at(address, 2);
    return this.ram[at]! | (this.ram[at + 1]! << 8);
  }

  #put16(address: number, value: number): void {
    const at = this.#at(address, 2);
    this.ram[at] = value & 0xff;
    this.ram[at + 1] = value >> 8;
  }
}
