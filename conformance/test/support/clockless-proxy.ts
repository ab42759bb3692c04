// A qtest socket in front of device-ref that refuses `clock_step` and `clock_set` as Debian's
// QEMU does (`FAIL Unknown command 'clock_step'`) and passes every other line through: a
// target without a clock to step, made of real components, so that the suite's host-time
// path runs against a device that otherwise behaves exactly as device-ref.

import { createServer, type Server, type Socket } from 'node:net';
import type { QtestClient } from '../../qtest/client.js';
import { QtestReplyError } from '../../qtest/errors.js';
import type { RefServer } from '../../targets/ref.js';

export interface ClocklessProxy {
  /** `unix:PATH` for --target / SocketTarget. */
  address: string;
  /** Lines refused so far (clock_step / clock_set). */
  readonly refused: string[];
  close(): Promise<void>;
}

/** Listens on `path`; each connection gets a connection of its own to `server` (a fresh board). */
export async function startClocklessProxy(
  server: RefServer,
  path: string,
): Promise<ClocklessProxy> {
  const refused: string[] = [];
  const open = new Set<Socket>();
  const listener: Server = createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    void relay(socket, server, refused);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(path, () => resolve());
  });
  return {
    address: `unix:${path}`,
    refused,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

async function relay(socket: Socket, server: RefServer, refused: string[]): Promise<void> {
  let upstream: QtestClient;
  try {
    upstream = await server.connect();
  } catch {
    socket.destroy();
    return;
  }
  socket.once('close', () => void upstream.close());
  socket.setEncoding('latin1');
  // Replies go back in the order the lines came, however the upstream answers overlap.
  let replies: Promise<void> = Promise.resolve();
  let input = '';
  socket.on('data', (chunk: string) => {
    const lines = (input + chunk).split('\n');
    input = lines.pop()!;
    for (const line of lines) {
      const reply = answer(line, upstream, refused);
      replies = replies.then(async () => {
        const text = await reply;
        if (!socket.destroyed) socket.write(`${text}\n`);
      });
    }
  });
}

function answer(line: string, upstream: QtestClient, refused: string[]): Promise<string> {
  const command = line.split(' ')[0]!;
  if (command === 'clock_step' || command === 'clock_set') {
    refused.push(line);
    return Promise.resolve(`FAIL Unknown command '${command}'`);
  }
  return upstream.command(line).then(
    (payload) => (payload === '' ? 'OK' : `OK ${payload}`),
    (error: unknown) => (error instanceof QtestReplyError ? error.reply : 'FAIL proxy: no reply'),
  );
}
