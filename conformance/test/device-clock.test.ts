// Waiting in the device's time: on a target that answers clock_step (device-ref) the suite
// steps the virtual clock; on one that refuses it (QEMU, or device-ref behind a proxy that
// answers like Debian's QEMU) it waits in host time, and gives the same verdicts.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadCases } from '../cases.js';
import { DeviceClock, deviceClock } from '../qtest/device-clock.js';
import { PollTimeoutError } from '../qtest/poll.js';
import { openSession, type Session } from '../session.js';
import { runConformanceSuite } from '../suite/build-suite.js';
import type { TestRecord } from '../suite/harness.js';
import { QemuTarget } from '../targets/qemu.js';
import { REF_BOARD, RefServer, RefTarget } from '../targets/ref.js';
import { SocketTarget } from '../targets/socket.js';
import type { Target } from '../targets/target.js';
import { startClocklessProxy, type ClocklessProxy } from './support/clockless-proxy.js';
import { usePrivateTmpdir } from './support/private-tmpdir.js';

/** The device's virtual time in ns (`clock_step 0` moves nothing). */
async function virtualNow(session: Session): Promise<bigint> {
  return BigInt(await session.qtest.command('clock_step 0'));
}

describe('the device clock', function () {
  this.timeout(120_000);
  const tmp = usePrivateTmpdir('viommu-clock-test-');
  let server: RefServer;
  let proxy: ClocklessProxy;
  before(async () => {
    server = new RefServer();
    proxy = await startClocklessProxy(server, join(tmp(), 'clockless.sock'));
  });
  after(async () => {
    await proxy.close();
    await server.close();
  });

  const viaProxy = (): Target => new SocketTarget(proxy.address, { ramSize: REF_BOARD.ram_size });

  async function withSession<T>(target: Target, work: (s: Session) => Promise<T>): Promise<T> {
    const session = await openSession(target);
    try {
      return await work(session);
    } finally {
      await target.close();
    }
  }

  it('is stepped on device-ref, host time behind the proxy and on QEMU', async () => {
    const kinds: boolean[] = [];
    for (const target of [new RefTarget(server), viaProxy(), new QemuTarget()]) {
      const qtest = await target.start();
      try {
        kinds.push((await DeviceClock.detect(qtest)).stepped);
      } finally {
        await target.close();
      }
    }
    assert.deepEqual(kinds, [true, false, false]);
  });

  it('on device-ref, lets the whole wait pass in virtual time when no fault comes', async () => {
    await withSession(new RefTarget(server), async (session) => {
      await session.driver.start();
      const before = await virtualNow(session);
      assert.deepEqual(await session.driver.waitEvents(1, 300), []);
      const after = await virtualNow(session);
      assert.ok(after - before >= 300_000_000n, `virtual time moved ${after - before} ns`);
    });
  });

  it('on device-ref, runs an edu transfer by stepping to its timer (100 ms of virtual time)', async () => {
    await withSession(new RefTarget(server), async (session) => {
      const edu = session.driver.edu!;
      const page = { iova: session.staging.base, phys: session.staging.base, size: 0x1000 };
      const bytes = Uint8Array.from({ length: 64 }, (_, i) => i + 1);
      const before = await virtualNow(session);
      await edu.dmaWrite(session.ram.base, bytes, page);
      const after = await virtualNow(session);
      assert.deepEqual(await session.qtest.memread(session.ram.base, 64), bytes);
      // edu arms its timer in whole milliseconds of virtual time: 99..100 ms a transfer.
      assert.ok(after - before >= 198_000_000n, `two transfers took ${after - before} ns`);
    });
  });

  it('on device-ref, fails a wait that outlives its virtual time with the time it waited', async () => {
    await withSession(new RefTarget(server), async (session) => {
      const clock = await deviceClock(session.qtest);
      const before = await virtualNow(session);
      await assert.rejects(
        clock.waitFor(async () => undefined, { timeoutMs: 2000, what: 'nothing' }),
        (error: unknown) =>
          error instanceof PollTimeoutError &&
          error.message === 'timed out after 2000 ms of virtual time waiting for nothing',
      );
      assert.equal((await virtualNow(session)) - before, 2_000_000_000n);
    });
  });

  it('behind the proxy, moves data by edu in host time and never steps the clock', async () => {
    const refusedBefore = proxy.refused.length;
    await withSession(viaProxy(), async (session) => {
      assert.equal((await deviceClock(session.qtest)).stepped, false);
      const edu = session.driver.edu!;
      const page = { iova: session.staging.base, phys: session.staging.base, size: 0x1000 };
      const bytes = Uint8Array.from({ length: 64 }, (_, i) => 0x7f - i);
      await edu.dmaWrite(session.ram.base, bytes, page);
      assert.deepEqual(await session.qtest.memread(session.ram.base, 64), bytes);
      assert.deepEqual(await edu.dmaRead(session.ram.base, 64, page), bytes);
    });
    // The one question per connection, refused; nothing else tried to step.
    assert.deepEqual(proxy.refused.slice(refusedBefore), ['clock_step 0']);
  });

  it('gives the fault-reporting statements the same verdicts in host time as in virtual time', async () => {
    const cases = loadCases();
    const verdicts = async (makeTarget: () => Target): Promise<string[]> => {
      const { records } = await runConformanceSuite(cases, { makeTarget, only: 'dev.fault' });
      return records.map((r: TestRecord) => `${r.title}: ${JSON.stringify(r.judged)}`).sort();
    };
    const stepped = await verdicts(() => new RefTarget(server, 'near'));
    const hostTime = await verdicts(viaProxy);
    assert.ok(stepped.length >= 5, `${stepped.length} tests`);
    assert.deepEqual(hostTime, stepped);
  });
});
