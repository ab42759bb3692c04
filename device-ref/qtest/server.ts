// The qtest server: listens on a Unix socket (mode 0600, a stale socket file replaced) or on
// TCP (127.0.0.1 unless told otherwise) and serves one client at a time; later clients wait
// their turn. Each connection gets a board of its own from the `board` factory, so every
// client (every conformance test) starts from a device fresh out of reset, with virtual time
// at 0 — the way every test of the suite starts a fresh QEMU.

import { lstatSync, unlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { serveConnection } from './connection.js';
import { formatListenAddress, parseListenAddress, type ListenAddress } from './listen-address.js';
import type { QtestTarget } from './target.js';

export interface QtestServerOptions {
  /** `unix:PATH` or `tcp:[HOST:]PORT`. */
  listen: string;
  /** Called once per connection for the machine that connection drives. */
  board: () => QtestTarget;
  /** Where to say what happened (connections, failures); silent when absent. */
  log?: (message: string) => void;
}

export interface QtestServer {
  /** Where the server listens, with the real port when 0 was asked for. */
  readonly address: string;
  /** Stops listening, drops the connections, removes the Unix socket file. */
  close(): Promise<void>;
}

export async function startQtestServer(options: QtestServerOptions): Promise<QtestServer> {
  const listen = parseListenAddress(options.listen);
  const log = options.log ?? (() => {});
  const waiting: Socket[] = [];
  let active: Socket | undefined;

  const serveNext = (): void => {
    active = undefined;
    for (let next = waiting.shift(); next !== undefined; next = waiting.shift()) {
      if (next.destroyed) continue;
      let target: QtestTarget;
      try {
        target = options.board();
      } catch (error) {
        log(`qtest: cannot create a board: ${(error as Error).message}`);
        next.destroy();
        continue;
      }
      active = next;
      serveConnection(next, target);
      next.resume();
      log('qtest: client connected; fresh board');
      return;
    }
  };

  const server = createServer({ pauseOnConnect: true }, (socket) => {
    socket.setNoDelay(true);
    socket.on('error', (error) => log(`qtest: connection error: ${error.message}`));
    socket.on('close', () => {
      if (socket === active) {
        log('qtest: client disconnected');
        serveNext();
      }
    });
    waiting.push(socket);
    if (active === undefined) serveNext();
  });

  await listenOn(server, listen);
  server.on('error', (error) => log(`qtest: server error: ${error.message}`));
  const address =
    listen.kind === 'unix'
      ? formatListenAddress(listen)
      : formatListenAddress({ ...listen, port: (server.address() as AddressInfo).port });
  log(`qtest: listening on ${address}`);

  let closing: Promise<void> | undefined;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of [...waiting, ...(active ? [active] : [])]) socket.destroy();
        waiting.length = 0;
      }).then(() => {
        if (listen.kind === 'unix') removeSocketFile(listen.path);
      });
      return closing;
    },
  };
}

function listenOn(server: ReturnType<typeof createServer>, listen: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    if (listen.kind === 'tcp') {
      server.listen(listen.port, listen.host);
      return;
    }
    removeSocketFile(listen.path);
    // The socket file is created by listen() itself; a umask in force only for that call
    // gives it mode 0600 from the start, with no window where others could connect.
    const umask = process.umask(0o177);
    try {
      server.listen(listen.path);
    } finally {
      process.umask(umask);
    }
  });
}

/** Removes a (stale) socket file; refuses to touch anything that is not a socket. */
function removeSocketFile(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket; not replacing it`);
  unlinkSync(path);
}
