// Layer: qtest.
// The qtest server: listens on a Unix socket (mode 0600) or on TCP (127.0.0.1 unless told
// otherwise) and serves its clients side by side, each on a board of its own from the
// `board` factory, so every client (every conformance test) starts from a device fresh out
// of reset, with virtual time at 0 — the way every test of the suite starts a fresh QEMU. A
// client that stays silent holds only its own board: the others are served all the same.
// Past `maxClients` connections at once, a new client gets one FAIL line and is closed.
//
// A Unix socket path that another server answers on is refused, never taken over; a socket
// file nobody answers on (left by a server that died) is replaced.

import { lstatSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { serveConnection } from './connection.js';
import { formatListenAddress, parseListenAddress, type ListenAddress } from './listen-address.js';
import type { QtestTarget } from './target.js';

/** Boards alive at once by default; each can hold as much RAM as its description gives. */
export const DEFAULT_MAX_CLIENTS = 8;
/** How long a server on an existing socket path has to accept our probe connection. */
const PROBE_TIMEOUT_MS = 1000;

export interface QtestServerOptions {
  /** `unix:PATH` or `tcp:[HOST:]PORT`. */
  listen: string;
  /** Called once per connection for the machine that connection drives. */
  board: () => QtestTarget;
  /** Clients served at once (default DEFAULT_MAX_CLIENTS). */
  maxClients?: number;
  /** Where to say what happened (connections, failures); silent when absent. */
  log?: (message: string) => void;
  /** Whether `log` hears of each client: its connection, its errors, its end (default true). */
  logClients?: boolean;
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
  const logClient = options.logClients === false ? () => {} : log;
  const maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
  if (!Number.isInteger(maxClients) || maxClients < 1)
    throw new Error(`maxClients must be a positive integer, not ${maxClients}`);
  const clients = new Set<Socket>();

  const server = createServer({ pauseOnConnect: true }, (socket) => {
    socket.setNoDelay(true);
    socket.on('error', (error) => logClient(`qtest: connection error: ${error.message}`));
    if (clients.size >= maxClients) {
      log(`qtest: ${clients.size} clients already; refusing one more`);
      socket.end(`FAIL device-ref serves ${maxClients} clients at once; try again later\n`, () =>
        socket.destroy(),
      );
      return;
    }
    let target: QtestTarget;
    try {
      target = options.board();
    } catch (error) {
      log(`qtest: cannot create a board: ${(error as Error).message}`);
      socket.destroy();
      return;
    }
    clients.add(socket);
    socket.on('close', () => {
      clients.delete(socket);
      target.dispose?.();
      logClient('qtest: client disconnected');
    });
    serveConnection(socket, target);
    socket.resume();
    logClient('qtest: client connected; fresh board');
  });

  if (listen.kind === 'unix') await claimSocketPath(listen.path);
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
        for (const socket of clients) socket.destroy();
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

/**
 * Makes `path` free for our socket: its folder must exist; a socket file there is removed
 * only when nobody answers on it (a server that died left it); anything else is refused.
 */
async function claimSocketPath(path: string): Promise<void> {
  const folder = dirname(path);
  let isFolder: boolean;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    throw new Error(`the folder ${folder} does not exist`);
  }
  if (!isFolder) throw new Error(`${folder} is not a folder`);
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket; not replacing it`);
  if (await answers(path)) {
    throw new Error(
      `another server is listening on ${path}; stop it or choose another path (not replacing it)`,
    );
  }
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Whether a server accepts a connection on the Unix socket `path`; one that neither accepts
 * nor refuses within PROBE_TIMEOUT_MS counts as alive.
 */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect({ path });
    const done = (outcome: boolean | Error) => {
      clearTimeout(timer);
      probe.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS);
    probe.once('connect', () => done(true));
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') done(false);
      else done(new Error(`cannot tell whether a server listens on ${path}: ${error.message}`));
    });
  });
}

/** Removes our socket file at close; leaves anything that is not a socket. */
function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // already gone
  }
}
