// Test fixture: a QEMU that *listens* for qtest (server=on,wait=off), for tests of the
// socket target and of the client against a socket we hold ourselves. QemuTarget covers the
// usual case, where QEMU connects to us.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildHaltFirmware } from '../../targets/firmware.js';
import { QEMU_DEFAULT_BINARY, qemuArguments } from '../../targets/qemu.js';
import { connectSocket, formatSocketAddress, type SocketAddress } from '../../targets/socket.js';

export interface ListeningQemu {
  address: SocketAddress;
  stop(): Promise<void>;
}

export async function startListeningQemu(kind: 'unix' | 'tcp'): Promise<ListeningQemu> {
  const dir = await mkdtemp(join(tmpdir(), 'viommu-test-'));
  const firmware = join(dir, 'halt.bin');
  await writeFile(firmware, buildHaltFirmware());
  const address: SocketAddress =
    kind === 'unix'
      ? { kind, path: join(dir, 'qtest.sock') }
      : { kind, host: '127.0.0.1', port: await freePort() };
  const child = spawn(
    QEMU_DEFAULT_BINARY,
    qemuArguments(firmware, `${formatSocketAddress(address)},server=on,wait=off`),
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilListening(address);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, stop };
}

async function waitUntilListening(address: SocketAddress): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    try {
      (await connectSocket(address, 200)).destroy();
      return;
    } catch {
      await sleep(10);
    }
  }
  throw new Error(`QEMU never listened on ${formatSocketAddress(address)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
