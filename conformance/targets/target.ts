// A target is a device under test reachable over qtest: QEMU we spawn, device-ref, or a
// socket someone else serves. The suite gives each test a target of its own (select.ts).

import type { QtestClient } from '../qtest/client.js';

export type JudgeWindow = 'all-ram' | 'near';

export interface Target {
  /** What this target is, for reports: "qemu (qemu-system-x86_64)", "unix:/run/dev.sock". */
  readonly description: string;
  /**
   * What the DMA judge watches besides the guard zones around targets: `all-ram` (every
   * judged write is followed by a read of all guest RAM) or `near`
   * (`@ram` ± 1 MiB; the default).
   */
  readonly judgeWindow?: JudgeWindow;
  /**
   * Bytes of guest RAM, from guest-physical 0: the suite lays out its memory inside it, and
   * the DMA judge watches no further.
   */
  readonly ramSize: number;
  /**
   * The chipset the target says it has: 'q35' promises QEMU q35's host bridge at 00:00.0 and
   * its reset control register at port 0xcf9 (the suite's own checks hold the target to it);
   * undefined when the target does not say.
   */
  readonly chipset?: 'q35';
  /** Brings the device up and returns a client that has already had one reply from it. */
  start(): Promise<QtestClient>;
  /** Closes the connection and releases everything start() created (processes, files). */
  close(): Promise<void>;
}

/** The target never answered: no connection, or no reply to the handshake. */
export class TargetUnreachableError extends Error {
  override name = 'TargetUnreachableError';
}

/**
 * The first exchange with a new device: `endianness` must answer `little` (the suite drives
 * an x86 board: port I/O, little-endian PCI). Also tells us the device is up and listening.
 * On failure the client is closed and the error says which target failed.
 */
export async function handshake(client: QtestClient, description: string): Promise<void> {
  let reply: string;
  try {
    reply = await client.command('endianness');
  } catch (error) {
    await client.close();
    throw new TargetUnreachableError(
      `${description}: no qtest handshake: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (reply !== 'little') {
    await client.close();
    throw new Error(`${description}: 'endianness' answered '${reply}', the suite needs 'little'`);
  }
}
