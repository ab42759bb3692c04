// Target: the reference device (device-ref), spawned as
//   node build/cli/viommu.js device --board FILE --listen unix:PATH
// and driven over its qtest socket like any other. conformance never imports device-ref:
// the two meet only over the socket. close() stops the process and removes its temp dir.
//
// The board is the q35 preset as QEMU shows it plus a second edu at 00:03.0, the same
// second endpoint (`@ep2`) the QEMU target gets from a second `-device edu`.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../generator/paths.js';
import { QtestClient } from '../qtest/client.js';
import { DeviceProcess } from './device-process.js';
import { connectSocket, DEFAULT_CONNECT_TIMEOUT_MS } from './socket.js';
import { handshake, type Target } from './target.js';

export const REF_BOARD = {
  name: 'q35-two-edu',
  description: 'The q35 preset with a second edu endpoint at 00:03.0 (the conformance suite board)',
  ram_size: 0x1000_0000,
  iommu: {
    slot: 1,
    features: [
      'VIRTIO_IOMMU_F_INPUT_RANGE',
      'VIRTIO_IOMMU_F_DOMAIN_RANGE',
      'VIRTIO_IOMMU_F_MAP_UNMAP',
      'VIRTIO_IOMMU_F_PROBE',
      'VIRTIO_IOMMU_F_MMIO',
      'VIRTIO_IOMMU_F_BYPASS_CONFIG',
    ],
    page_size_mask: '0xfffffffffffff000',
    input_range: { start: '0x0', end: '0xffffffffffffffff' },
    domain_range: { start: 0, end: 0xffff_ffff },
    probe_size: 512,
    bypass: true,
  },
  endpoints: [2, 3].map((slot) => ({
    slot,
    kind: 'edu',
    reserved_regions: [{ subtype: 'MSI', start: '0xfee00000', end: '0xfeefffff' }],
  })),
};

export interface RefTargetOptions {
  /** A board preset name or JSON file; default: REF_BOARD. */
  board?: string;
  startTimeoutMs?: number;
  replyTimeoutMs?: number;
}

const LISTENING = /listening on (\S+)/;

export class RefTarget implements Target {
  readonly description: string;
  readonly #options: RefTargetOptions;
  #dir: string | undefined;
  #process: DeviceProcess | undefined;
  #client: QtestClient | undefined;

  constructor(options: RefTargetOptions = {}) {
    this.#options = options;
    this.description = `device-ref (board ${options.board ?? REF_BOARD.name})`;
  }

  async start(): Promise<QtestClient> {
    if (this.#dir !== undefined) throw new Error(`${this.description}: already started`);
    const dir = await mkdtemp(join(tmpdir(), 'viommu-ref-'));
    this.#dir = dir;
    try {
      let board = this.#options.board;
      if (board === undefined) {
        board = join(dir, 'board.json');
        await writeFile(board, JSON.stringify(REF_BOARD));
      }
      const socketPath = join(dir, 'qtest.sock');
      const cli = join(packageRoot, 'build', 'cli', 'viommu.js');
      const listening = this.#spawn([
        cli,
        'device',
        '--board',
        board,
        '--listen',
        `unix:${socketPath}`,
      ]);
      const address = await listening;
      if (!address.startsWith('unix:'))
        throw new Error(`${this.description}: listens on ${address}, expected a unix socket`);
      const socket = await connectSocket(
        { kind: 'unix', path: address.slice('unix:'.length) },
        DEFAULT_CONNECT_TIMEOUT_MS,
      );
      const client = new QtestClient(socket, {
        ...(this.#options.replyTimeoutMs !== undefined && {
          replyTimeoutMs: this.#options.replyTimeoutMs,
        }),
        explainClose: async () => {
          const device = this.#process!;
          return device.exitStatus === undefined
            ? `device-ref closed the qtest connection${device.outputText()}`
            : `device-ref ${device.exitStatus}${device.outputText()}`;
        },
      });
      await handshake(client, this.description);
      this.#client = client;
      return client;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
    await this.#process?.stop();
    const dir = this.#dir;
    this.#dir = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  /** Spawns the device; resolves with the address it prints once it listens. */
  #spawn(args: string[]): Promise<string> {
    const timeoutMs = this.#options.startTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise<string>((resolve, reject) => {
      const device = new DeviceProcess(process.execPath, args, (output) => {
        const match = LISTENING.exec(output);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      this.#process = device;
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.description}: not listening within ${timeoutMs} ms${device.outputText()}`,
            ),
          ),
        timeoutMs,
      );
      void device.exited.then(() => {
        clearTimeout(timer);
        reject(
          new Error(
            `${this.description} ${device.exitStatus} before listening${device.outputText()}`,
          ),
        );
      });
    });
  }
}
