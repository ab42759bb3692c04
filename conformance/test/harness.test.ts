// The harness: who is to blame for what a test saw (the device: `fail`; the suite: `error`),
// an outcome per statement, a crash as a denial of service, and a run that gives up on a target
// that never answers. Tests run against device-ref and against tiny qtest servers in this
// process: one that accepts connections and never answers, one that answers with escapes.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { QtestClient } from '../qtest/client.js';
import { ExpectationFailure } from '../scenario/expectation.js';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { reportBaseName } from '../run.js';
import { RunControl, runDeviceTest, type DeviceTest } from '../suite/harness.js';
import { sharedLauncher } from '../targets/launcher.js';
import { QemuTarget } from '../targets/qemu.js';
import { RefServer, RefTarget } from '../targets/ref.js';
import { SocketTarget } from '../targets/socket.js';
import type { Target } from '../targets/target.js';
import { CLI } from './support/conform-cli.js';
import { isAlive } from './support/process-tree.js';

interface FakeDevice {
  path: string;
  connections: () => number;
  close: () => Promise<void>;
}

/** A qtest server on a private Unix socket; `answer` gives the reply to a line, or none. */
async function fakeDevice(answer: (line: string) => string | undefined): Promise<FakeDevice> {
  const dir = await mkdtemp(join(tmpdir(), 'viommu-fake-'));
  const path = join(dir, 'qtest.sock');
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let at = pending.indexOf('\n'); at !== -1; at = pending.indexOf('\n')) {
        const reply = answer(pending.slice(0, at));
        pending = pending.slice(at + 1);
        if (reply !== undefined) socket.write(`${reply}\n`, 'latin1');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const LIMITS = { testTimeoutMs: 20_000 };

/**
 * device-ref as seen through `qtest`, but edu's DMA command register (BAR0 0x98, read with
 * readq) shows the run bit once a transfer was started: a board whose edu never finishes one.
 */
function stuckEdu(qtest: QtestClient): QtestClient {
  const isCommand = (address: bigint) => (address & 0xf_ffffn) === 0x98n;
  let started = false;
  return new Proxy(qtest, {
    get(real, key) {
      if (key === 'writeq') {
        return (address: bigint, value: bigint) => {
          started ||= isCommand(address);
          return real.writeq(address, value);
        };
      }
      if (key === 'readq') {
        return (address: bigint) => {
          // Whether the transfer runs when this read leaves: commands keep their order.
          const running = started && isCommand(address);
          return real.readq(address).then((value) => (running ? value | 1n : value));
        };
      }
      const value: unknown = Reflect.get(real, key);
      return typeof value === 'function' ? (value as () => unknown).bind(real) : value;
    },
  });
}

describe('the harness against device-ref', function () {
  this.timeout(60_000);
  let server: RefServer;
  before(() => {
    server = new RefServer();
  });
  after(() => server.close());

  const run = (statements: string[], body: DeviceTest) =>
    runDeviceTest(
      { title: statements.map((s) => `[${s}]`).join(' '), statements },
      () => new RefTarget(server),
      body,
      LIMITS,
    );

  it('makes an exception in the suite an error with its stack, never a device failure', async () => {
    const record = await run(['dev.a'], async () => {
      Object.keys(undefined as unknown as object);
    });
    assert.equal(record.outcome, 'error');
    assert.equal(record.judged['dev.a']!.outcome, 'error');
    assert.match(record.judged['dev.a']!.reason!, /^TypeError: .*\n\s+at /);
  });

  it('makes guest memory the suite runs out of an error, never a device failure', async () => {
    // The suite's own allocations (queues, pages of its tests) come from session.memory.
    const record = await run(['dev.a'], async (session) => {
      for (;;) session.memory.allocate(0x10_0000);
    });
    assert.equal(record.judged['dev.a']!.outcome, 'error');
    assert.match(record.judged['dev.a']!.reason!, /guest memory exhausted/);
  });

  it('makes a request queue the suite overfills an error, never a device failure', async () => {
    // More requests in one batch than the suite's request queue has descriptors for.
    const record = await run(['dev.a'], async (session) => {
      await session.driver.start();
      await session.driver.requestBatch(
        Array.from({ length: 65 }, () => ({ verb: 'detach' as const })),
      );
    });
    assert.equal(record.judged['dev.a']!.outcome, 'error');
    assert.match(
      record.judged['dev.a']!.reason!,
      /VirtqueueFullError: queue 0: 1 descriptors needed, 0 free/,
    );
  });

  it('makes an edu transfer that never finishes an error with the reason, never a device failure', async () => {
    const ref = new RefTarget(server);
    const stuck: Target = {
      description: ref.description,
      ramSize: ref.ramSize,
      start: async () => stuckEdu(await ref.start()),
      close: () => ref.close(),
    };
    const record = await runDeviceTest(
      { title: '[dev.a]', statements: ['dev.a'] },
      () => stuck,
      async (session) => session.driver.edus[0]!.toDevice(session.staging.base, 8),
      LIMITS,
    );
    assert.equal(record.outcome, 'error');
    assert.equal(record.denial, undefined);
    assert.equal(record.judged['dev.a']!.outcome, 'error');
    assert.match(
      record.judged['dev.a']!.reason!,
      /EduStalledError: edu did not finish its DMA transfer \(0x[0-9a-f]+ → 0x40000, 8 bytes\) within 2000 ms while the target kept answering qtest \(edu still answers with its ID\); .* not the IOMMU/,
    );
  });

  it('reports a MUST broken in a test of another statement against the MUST', async () => {
    const record = await run(['dev.should'], async () => {
      throw new ExpectationFailure({ message: 'bypass reads 7' }, 'dev.must');
    });
    assert.deepEqual(record.statements, ['dev.should', 'dev.must']);
    assert.equal(record.judged['dev.must']!.outcome, 'fail');
    assert.equal(record.judged['dev.must']!.evidence!.message, 'bypass reads 7');
    assert.deepEqual(record.judged['dev.should'], {
      outcome: 'untested',
      reason: 'the test stopped at a failure of dev.must',
    });
  });

  it('keeps each statement to its own evidence, and a MAY to its option', async () => {
    const record = await run(['dev.a', 'dev.b', 'dev.may'], async (_session, judgement) => {
      judgement.fail('dev.b', { message: 'reason UNKNOWN' });
      judgement.option('dev.may', 'absent', 'S_UNSUPP');
    });
    assert.equal(record.judged['dev.a']!.outcome, 'pass');
    assert.equal(record.judged['dev.b']!.outcome, 'fail');
    assert.deepEqual(record.judged['dev.may'], {
      outcome: 'pass',
      option: 'absent',
      reason: 'option absent: S_UNSUPP',
    });
    assert.equal(record.outcome, 'fail');
  });

  it('fails a test whose device crashes, and records the crash as a denial of service', async () => {
    const record = await run(['dev.a'], async (session) => {
      process.kill(server.pid!, 'SIGKILL');
      await session.driver.readConfig();
    });
    assert.equal(record.outcome, 'fail');
    assert.equal(record.denial?.kind, 'crash');
    // The next test gets a new device-ref.
    assert.equal((await run(['dev.a'], async () => undefined)).outcome, 'pass');
  });
});

describe('the harness against QEMU', function () {
  this.timeout(60_000);

  it('makes a QEMU lost with its launcher an error of the suite, not a crash of the device', async () => {
    let qemu: QemuTarget | undefined;
    const record = await runDeviceTest(
      { title: '[dev.a]', statements: ['dev.a'] },
      () => (qemu = new QemuTarget()),
      async (session) => {
        process.kill(sharedLauncher().pid!, 'SIGKILL');
        // QEMU dies of its parent-death signal a moment later.
        while (await isAlive(qemu!.pid!)) await sleep(5);
        await session.driver.readConfig();
      },
      LIMITS,
    );
    assert.equal(record.outcome, 'error');
    assert.equal(record.denial, undefined);
    assert.match(
      record.judged['dev.a']!.reason!,
      /QEMU was lost: the process launcher was killed by SIGKILL/,
    );
  });
});

describe('a run against a target that never answers', function () {
  this.timeout(60_000);
  let silent: FakeDevice;
  before(async () => {
    silent = await fakeDevice(() => undefined);
  });
  after(() => silent.close());

  it('stops after 3 tests in a row without a handshake; the rest are errors, not run', async () => {
    const control = new RunControl({ unreachableLimit: 3 });
    const records = [];
    for (let i = 0; i < 5; i++) {
      records.push(
        await runDeviceTest(
          { title: `[dev.t${i}] t`, statements: [`dev.t${i}`] },
          () => new SocketTarget(`unix:${silent.path}`, { replyTimeoutMs: 100 }),
          async () => undefined,
          { ...LIMITS, control },
        ),
      );
    }
    assert.deepEqual(
      records.map((r) => r.outcome),
      ['error', 'error', 'error', 'error', 'error'],
    );
    assert.match(records[0]!.reason!, /^not run: unix:.*: no qtest handshake: .*no reply/);
    assert.match(
      records[4]!.reason!,
      /^not run: the target did not answer for 3 tests in a row \(unix:.*no qtest handshake/,
    );
    assert.equal(silent.connections(), 3);
    assert.match(control.stopped!, /did not answer for 3 tests in a row/);
  });

  it('ends at --time-limit with a clear message, exit 2 and error verdicts, never fail', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'viommu-conform-'));
    try {
      const args = [CLI, 'conform', '--target', `unix:${silent.path}`, '--reports', dir];
      const failed = await promisify(execFile)(process.execPath, [
        ...args,
        '--time-limit',
        '1s',
        '--no-probes',
      ]).then(
        () => assert.fail('conform exited 0'),
        (error: { code: number; stdout: string }) => error,
      );
      assert.equal(failed.code, 2);
      assert.match(
        failed.stdout,
        /The run stopped early: the run's time limit of 1 s was reached\. The tests it did not run are errors\./,
      );
      const report = JSON.parse(
        await readFile(join(dir, `${reportBaseName(`unix:${silent.path}`)}.json`), 'utf8'),
      ) as ConformanceReport;
      assert.match(report.stopped!, /time limit of 1 s/);
      assert.equal(report.summary.fail, 0);
      assert.ok(report.summary.error > 50, `${report.summary.error} errors`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the console report of a device that answers with escape sequences', function () {
  this.timeout(60_000);
  it('prints every control character the device sent escaped, none raw', async () => {
    // Clears the screen, retitles the window, and sets a colour, if printed raw.
    const device = await fakeDevice((line) =>
      line === 'endianness' ? 'OK big\x1b]0;owned\x07\x1b[2J\x1b[31m' : undefined,
    );
    const dir = await mkdtemp(join(tmpdir(), 'viommu-conform-'));
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [
        CLI,
        'conform',
        '--target',
        `unix:${device.path}`,
        '--reports',
        dir,
        '--only',
        'dev.config.page-size-mask',
        '--no-probes',
      ]).catch((error: { stdout: string; stderr: string }) => error);
      assert.match(stdout, /answered 'big\\x1b\]0;owned\\x07\\x1b\[2J\\x1b\[31m'/);
      const raw = (text: string, allowed: string) =>
        [...text].filter((c) => /\p{Cc}/u.test(c) && !allowed.includes(c));
      assert.deepEqual(raw(stdout, '\n'), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await device.close();
    }
  });
});
