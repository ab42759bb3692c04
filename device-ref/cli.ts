// Layer: cli.
// `viommu device --board PRESET|FILE.json --listen unix:PATH|tcp:[HOST:]PORT [--max-clients N]
// [--quiet]`: serves the reference device over qtest until SIGINT or SIGTERM (or `signal`
// aborts), then closes the server and removes the socket. Driver findings and a line per client
// go to stderr as they happen, unless --quiet (the conformance suite's device-refs: nobody
// reads them there, and every line woke the suite's process).

import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { createBoard, type IommuModelFactory } from './board/board.js';
import { BOARD_PRESETS, loadBoardDescription, type BoardDescription } from './board/description.js';
import type { Finding } from './platform/findings.js';
import { createIommuModel } from './board/iommu-model.js';
import { DEFAULT_MAX_CLIENTS, startQtestServer, type QtestServer } from './qtest/server.js';

export interface DeviceCommandOptions {
  /** The device model behind the virtio-pci function; by default the IOMMU core. */
  iommuModel?: IommuModelFactory;
  /** Stops the server, like SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Called once the server listens, with its address (the real port for tcp:…:0). */
  onListening?: (address: string) => void;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** Runs the command on `argv` (the words after `device`); resolves with the exit code. */
export async function runDeviceCommand(
  argv: readonly string[],
  options: DeviceCommandOptions = {},
): Promise<number> {
  const iommuModel = options.iommuModel ?? createIommuModel;
  const stdout = options.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = options.stderr ?? ((text: string) => process.stderr.write(text));
  const command = new Command('device')
    .description('serve the reference virtio-iommu device over the qtest protocol')
    .requiredOption(
      '--board <board>',
      `a preset (${BOARD_PRESETS.join(', ')}) or a board JSON file`,
    )
    .requiredOption(
      '--listen <address>',
      'unix:PATH or tcp:[HOST:]PORT (HOST defaults to 127.0.0.1)',
    )
    .option(
      '--max-clients <count>',
      `clients served at once, each on its own board (default ${DEFAULT_MAX_CLIENTS})`,
      parseCount,
    )
    .option(
      '--quiet',
      'print neither driver findings nor a line per client (the listening line and server errors still print)',
    )
    .exitOverride()
    .configureOutput({ writeOut: stdout, writeErr: stderr });
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const opts = command.opts<{
    board: string;
    listen: string;
    maxClients?: number;
    quiet?: boolean;
  }>();

  let description: BoardDescription;
  try {
    description = loadBoardDescription(opts.board);
  } catch (error) {
    stderr(`viommu device: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    // The loader cannot say everything a device refuses (more RESV_MEM properties than
    // probe_size holds, say): building one board now reports that here, rather than as every
    // client's connection being dropped.
    createBoard(description, { iommuModel });
  } catch (error) {
    stderr(`viommu device: ${opts.board}: ${(error as Error).message}\n`);
    return 1;
  }

  const reportFinding = (finding: Finding): void => {
    const statement = finding.statement === undefined ? '' : ` [${finding.statement}]`;
    stderr(`finding${statement}: ${finding.message}\n`);
  };
  let server: QtestServer;
  try {
    server = await startQtestServer({
      listen: opts.listen,
      ...(opts.maxClients !== undefined && { maxClients: opts.maxClients }),
      board: () => {
        const board = createBoard(description, { iommuModel });
        if (opts.quiet !== true) board.findings.onFinding(reportFinding);
        return board;
      },
      log: (message) => stderr(`${message}\n`),
      logClients: opts.quiet !== true,
    });
  } catch (error) {
    stderr(`viommu device: cannot listen on ${opts.listen}: ${(error as Error).message}\n`);
    return 1;
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop);
  });
  stdout(`viommu device: board ${description.name}, listening on ${server.address}\n`);
  options.onListening?.(server.address);
  await stopped;
  await server.close();
  stdout('viommu device: stopped\n');
  return 0;
}

function parseCount(text: string): number {
  const count = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(count) || count < 1)
    throw new InvalidArgumentError('expected a whole number of at least 1');
  return count;
}
