// A selected target is closed on every path (issue 15): the work's normal end, an error, and
// SIGINT/SIGTERM. In process through withTarget(), and end to end through the commands that
// select a target (`viommu conform`, the device benchmarks) run as child processes: each ends
// by itself within a bound and leaves none of the processes or temp dirs it started behind.
// Processes are told apart by the process tree under the child's PID (/proc), never by name.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../package-root.js';
import { withTarget } from '../targets/with-target.js';
import {
  descendants,
  isAlive,
  watchDescendants,
  type ProcessInfo,
} from './support/process-tree.js';
import { usePrivateTmpdir } from './support/private-tmpdir.js';

const CLI = join(packageRoot, 'build', 'cli', 'viommu.js');
const DEVICE_SOCKET_BENCH = join(packageRoot, 'build', 'bench', 'device-socket.bench.js');

/** Each takes about 2 s on an idle machine; the bound leaves room for a loaded one. */
const EXIT_BOUND_MS = 60_000;

const isDeviceRef = (info: ProcessInfo): boolean => /viommu\.js device /.test(info.command);
const isQemu = (info: ProcessInfo): boolean => /qemu-system/.test(info.command);

async function ours(match: (info: ProcessInfo) => boolean): Promise<ProcessInfo[]> {
  return (await descendants(process.pid)).filter(match);
}

describe('withTarget', function () {
  this.timeout(30_000);
  const privateTmp = usePrivateTmpdir('viommu-with-target-test-');

  it('stops the ref run’s device-ref and removes its temp dir after the work', async () => {
    const result = await withTarget({ target: 'ref' }, async (selected) => {
      await selected.make().start(); // left open on purpose: the run must close it
      const [device] = await ours(isDeviceRef);
      assert.ok(device, 'no device-ref started');
      return device.pid;
    });
    assert.ok(!(await isAlive(result)), 'device-ref outlived withTarget');
    assert.deepEqual(await readdir(privateTmp()), []);
  });

  it('stops it too when the work throws, and passes the error on', async () => {
    let pid: number | undefined;
    await assert.rejects(
      withTarget({ target: 'ref' }, async (selected) => {
        await selected.make().start();
        pid = (await ours(isDeviceRef))[0]?.pid;
        throw new Error('the work failed');
      }),
      /^Error: the work failed$/,
    );
    assert.ok(pid !== undefined && !(await isAlive(pid)), 'device-ref outlived the error');
    assert.deepEqual(await readdir(privateTmp()), []);
  });

  it('kills the QEMUs a qemu run left open and removes their temp dirs', async () => {
    const pids = await withTarget({ target: 'qemu' }, async (selected) => {
      const closed = selected.make();
      await closed.start();
      await closed.close();
      await selected.make().start();
      await selected.make().start();
      return (await ours(isQemu)).map((info) => info.pid);
    });
    // The two in use, and those started ahead for the tests to come (targets/qemu-reserve.ts).
    assert.ok(pids.length >= 2, `${pids.length} QEMUs`);
    for (const pid of pids) assert.ok(!(await isAlive(pid)), `QEMU ${pid} outlived the run`);
    assert.deepEqual(await readdir(privateTmp()), []);
  });

  it('refuses to start a target once the run is closed', async () => {
    let make: (() => { start: () => Promise<unknown> }) | undefined;
    await withTarget({ target: 'qemu' }, async (selected) => {
      make = selected.make;
    });
    await assert.rejects(make!().start(), /already closed/);
  });
});

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Every process the child started while it ran. */
  started: ProcessInfo[];
  output: string;
}

/** Runs `node ARGS…`; fails, after killing it, if it has not ended within EXIT_BOUND_MS. */
async function runToEnd(
  args: string[],
  whileRunning?: (child: ChildProcess, started: Map<number, ProcessInfo>) => Promise<void>,
): Promise<Ended> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const watcher = watchDescendants(child.pid!);
  try {
    await whileRunning?.(child, watcher.seen);
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      exited,
      new Promise<'bound'>((resolve) => (timer = setTimeout(resolve, EXIT_BOUND_MS, 'bound'))),
    ]);
    clearTimeout(timer);
    if (ended === 'bound') {
      child.kill('SIGKILL');
      await exited;
      assert.fail(`node ${args.join(' ')} did not end within ${EXIT_BOUND_MS} ms:\n${output}`);
    }
    const [code, signal] = ended;
    return { code, signal, started: [...watcher.seen.values()], output };
  } finally {
    await watcher.stop();
    child.kill('SIGKILL');
  }
}

async function stillAlive(processes: ProcessInfo[]): Promise<string[]> {
  const alive: string[] = [];
  for (const info of processes) {
    if (await isAlive(info.pid)) alive.push(`${info.pid}: ${info.command}`);
  }
  return alive;
}

describe('commands that select a target end by themselves', function () {
  this.timeout(EXIT_BOUND_MS + 30_000);
  const privateTmp = usePrivateTmpdir('viommu-with-target-test-');
  let reports: string;
  beforeEach(async () => {
    reports = await mkdtemp(join(privateTmp(), 'reports-'));
  });
  afterEach(async () => {
    await rm(reports, { recursive: true, force: true });
  });

  const commands: Array<[string, () => string[]]> = [
    ['the device-socket benchmark on ref', () => [DEVICE_SOCKET_BENCH, 'ref']],
    [
      'viommu conform --target ref --only dev.map',
      () => [
        CLI,
        'conform',
        '--target',
        'ref',
        '--only',
        'dev.map',
        '--no-probes',
        '--reports',
        reports,
      ],
    ],
  ];
  for (const [name, args] of commands) {
    it(`${name}: exits 0 and leaves no device-ref behind`, async () => {
      const ended = await runToEnd(args());
      assert.equal(ended.code, 0, ended.output);
      const devices = ended.started.filter(isDeviceRef);
      assert.ok(devices.length > 0, `no device-ref was seen: ${ended.output}`);
      assert.deepEqual(await stillAlive(ended.started), []);
      assert.deepEqual(
        (await readdir(privateTmp())).filter((name) => name.startsWith('viommu-')),
        [],
      );
    });
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`viommu conform --target ref: on ${signal}, closes device-ref, writes no report and dies of ${signal}`, async () => {
      const ended = await runToEnd(
        [CLI, 'conform', '--target', 'ref', '--no-probes', '--reports', reports],
        async (child, started) => {
          // Interrupt the run once its device-ref is up, i.e. in the middle of the suite.
          const deadline = Date.now() + EXIT_BOUND_MS;
          while (![...started.values()].some(isDeviceRef) && Date.now() < deadline) {
            await sleep(20);
          }
          child.kill(signal);
        },
      );
      assert.equal(ended.signal, signal, `exit code ${ended.code}: ${ended.output}`);
      assert.ok(ended.started.some(isDeviceRef), 'no device-ref was seen');
      assert.deepEqual(await stillAlive(ended.started), []);
      assert.deepEqual(
        (await readdir(privateTmp())).filter((name) => name.startsWith('viommu-')),
        [],
        'temp dirs left behind',
      );
      assert.deepEqual(await readdir(reports), [], 'an interrupted run wrote reports');
    });
  }
});
