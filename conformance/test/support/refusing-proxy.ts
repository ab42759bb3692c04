// A qtest socket in front of device-ref that answers some lines with a FAIL of its own and
// passes every other line through: a device that otherwise behaves exactly as device-ref.
// Refusing `clock_step` and `clock_set` as Debian's QEMU does (`refuseClock`) makes a target
// without a clock to step, so that the suite's host-time path runs against real components.

import { createServer, type Server, type Socket } from 'node:net';
import type { QtestClient } from '../../qtest/client.js';
import { QtestReplyError } from '../../qtest/errors.js';
import type { RefServer } from '../../targets/ref.js';

/** The FAIL reply for a line the proxy refuses, or undefined to pass it on. */
export type Refusal = (line: string) => string | undefined;

/** Refuses `clock_step` and `clock_set` with Debian's QEMU's reply. */
export const refuseClock: Refusal = (line) => {
  const command = line.split(' ')[0]!;
  return command === 'clock_step' || command === 'clock_set'
    ? `FAIL Unknown command '${command}'`
    : undefined;
};

export interface RefusingProxy {
  /** `unix:PATH` for --target / SocketTarget. */
  address: string;
  /** Lines refused so far. */
  readonly refused: string[];
  close(): Promise<void>;
}

/** Listens on `path`; each connection gets a connection of its own to `server` (a fresh board). */
export async function startRefusingProxy(
  server: RefServer,
  path: string,
  refuse: Refusal,
): Promise<RefusingProxy> {
  const refused: string[] = [];
  const open = new Set<Socket>();
  const listener: Server = createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // A client that closes with replies still on their way makes the writes fail (EPIPE).
    socket.on('error', () => socket.destroy());
    void relay(socket, server, refuse, refused);
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

async function relay(
  socket: Socket,
  server: RefServer,
  refuse: Refusal,
  refused: string[],
): Promise<void> {
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
      const reply = answer(line, upstream, refuse, refused);
      replies = replies.then(async () => {
        const text = await reply;
        if (!socket.destroyed) socket.write(`${text}\n`);
      });
    }
  });
}

function answer(
  line: string,
  upstream: QtestClient,
  refuse: Refusal,
  refused: string[],
): Promise<string> {
  const refusal = refuse(line);
  if (refusal !== undefined) {
    refused.push(line);
    return Promise.resolve(refusal);
  }
  return upstream.command(line).then(
    (payload) => (payload === '' ? 'OK' : `OK ${payload}`),
    (error: unknown) => (error instanceof QtestReplyError ? error.reply : 'FAIL proxy: no reply'),
  );
}
