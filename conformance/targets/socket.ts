// Target for a device that already runs and serves qtest on a socket: `unix:PATH` or
// `tcp:HOST:PORT`. Also the connect helper other targets use once their device listens.

import { connect, type Socket } from 'node:net';
import { QtestClient } from '../qtest/client.js';
import type { QtestConnectionOptions } from '../qtest/connection.js';
import { handshake, TargetUnreachableError, type Target } from './target.js';

export type SocketAddress =
  { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Parses `unix:PATH` or `tcp:HOST:PORT` (HOST may be `[v6]`), or throws a clear error. */
export function parseSocketAddress(text: string): SocketAddress {
  if (text.startsWith('unix:') && text.length > 'unix:'.length) {
    return { kind: 'unix', path: text.slice('unix:'.length) };
  }
  const tcp = /^tcp:(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  if (tcp !== null) {
    const port = Number(tcp[2]);
    const host = tcp[1]!.replace(/^\[(.*)\]$/, '$1');
    if (port >= 1 && port <= 65535) return { kind: 'tcp', host, port };
  }
  throw new Error(`invalid device address '${text}': expected unix:PATH or tcp:HOST:PORT`);
}

export function formatSocketAddress(address: SocketAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `tcp:${host}:${address.port}`;
}

/** Connects to a qtest server; fails after `timeoutMs` rather than waiting forever. */
export function connectSocket(address: SocketAddress, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      address.kind === 'unix'
        ? connect({ path: address.path })
        : connect({ host: address.host, port: address.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TargetUnreachableError(
          `${formatSocketAddress(address)}: no connection within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      if (address.kind === 'tcp') socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new TargetUnreachableError(`${formatSocketAddress(address)}: ${error.message}`));
    });
  });
}

/** A socket target's RAM unless told: 256 MiB, as device-ref's q35 preset and QEMU's `-m 256M`. */
export const DEFAULT_SOCKET_RAM_SIZE = 0x1000_0000;

export interface SocketTargetOptions extends Omit<QtestConnectionOptions, 'explainClose'> {
  connectTimeoutMs?: number;
  /** Bytes of guest RAM the device has; default DEFAULT_SOCKET_RAM_SIZE. */
  ramSize?: number;
}

export class SocketTarget implements Target {
  readonly description: string;
  readonly ramSize: number;
  readonly #address: SocketAddress;
  readonly #options: SocketTargetOptions;
  #client: QtestClient | undefined;

  constructor(address: string | SocketAddress, options: SocketTargetOptions = {}) {
    this.#address = typeof address === 'string' ? parseSocketAddress(address) : address;
    this.#options = options;
    this.description = formatSocketAddress(this.#address);
    this.ramSize = options.ramSize ?? DEFAULT_SOCKET_RAM_SIZE;
  }

  async start(): Promise<QtestClient> {
    if (this.#client !== undefined) throw new Error(`${this.description}: already started`);
    const socket = await connectSocket(
      this.#address,
      this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    const client = new QtestClient(socket, {
      ...this.#options,
      explainClose: async () => `${this.description} closed the connection`,
    });
    // Known before the handshake, so that close() ends a handshake that never gets an answer.
    this.#client = client;
    await handshake(client, this.description);
    return client;
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }
}
