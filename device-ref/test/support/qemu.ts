// Starts the real QEMU the conformance suite targets, as QEMU-NOTES.md describes: q35,
// virtio-iommu-pci and edu, a 64 KiB halt-only firmware generated here, qtest on a Unix
// socket we listen on. Everything lives in a temporary folder removed by stop().

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineClient } from './qtest-client.js';

export const QEMU_BINARY = 'qemu-system-x86_64';

export function qemuAvailable(): boolean {
  return spawnSync(QEMU_BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** 64 KiB of zeros whose reset vector (offset 0xfff0) is `cli; hlt`. */
export function haltFirmware(): Uint8Array {
  const image = new Uint8Array(0x10000);
  image.set([0xfa, 0xf4], 0xfff0);
  return image;
}

export interface RunningQemu {
  client: LineClient;
  stop(): Promise<void>;
}

export async function startQemu(): Promise<RunningQemu> {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-qemu-'));
  const firmware = join(dir, 'halt.bin');
  const socketPath = join(dir, 'qtest.sock');
  writeFileSync(firmware, haltFirmware());
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const qemu = spawn(
    QEMU_BINARY,
    [
      '-M',
      'q35',
      '-display',
      'none',
      '-nodefaults',
      '-m',
      '256M',
      '-bios',
      firmware,
      '-qtest',
      `unix:${socketPath}`,
      '-qtest-log',
      devNull,
      '-device',
      'virtio-iommu-pci',
      '-device',
      'edu',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  qemu.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<void>((resolve) => qemu.once('exit', () => resolve()));
  const cleanup = async (): Promise<void> => {
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGTERM');
    await exited;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const socket = await new Promise<Socket>((resolve, reject) => {
      server.once('connection', resolve);
      void exited.then(() => reject(new Error(`QEMU exited before connecting: ${stderr}`)));
      setTimeout(() => reject(new Error('QEMU did not connect within 10 s')), 10_000).unref();
    });
    const client = LineClient.fromSocket(socket);
    return {
      client,
      async stop() {
        await client.close();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
