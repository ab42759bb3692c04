// Waiting in the device's time: on a target that answers clock_step (device-ref) the suite
// steps the virtual clock; on the QEMU we spawn (warped: its clock jumps to the next timer) a
// wait for what may not come ends once QEMU has settled; on one that refuses clock_step and
// vouches for nothing (device-ref behind a proxy that answers like Debian's QEMU) it waits in
// host time, and gives the same verdicts.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCases } from '../cases.js';
import { deviceClock, SETTLED_LOOKS } from '../qtest/device-clock.js';
import { PollTimeoutError } from '../qtest/poll.js';
import { openSession, type Session } from '../session.js';
import { runConformanceSuite } from '../suite/build-suite.js';
import type { TestRecord } from '../suite/harness.js';
import { QemuTarget, warpsItsClock } from '../targets/qemu.js';
import { REF_BOARD, RefServer, RefTarget } from '../targets/ref.js';
import { SocketTarget } from '../targets/socket.js';
import type { Target } from '../targets/target.js';
import { refuseClock, startRefusingProxy, type RefusingProxy } from './support/refusing-proxy.js';
import { usePrivateTmpdir } from './support/private-tmpdir.js';

/** The device's virtual time in ns (`clock_step 0` moves nothing). */
async function virtualNow(session: Session): Promise<bigint> {
  return BigInt(await session.qtest.command('clock_step 0'));
}

describe('the device clock', function () {
  this.timeout(120_000);
  const tmp = usePrivateTmpdir('viommu-clock-test-');
  let server: RefServer;
  let proxy: RefusingProxy;
  before(async () => {
    server = new RefServer();
    proxy = await startRefusingProxy(server, join(tmp(), 'clockless.sock'), refuseClock);
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

  it('is stepped on device-ref, host time behind the proxy, warped on the QEMU we spawn', async () => {
    const kinds: string[] = [];
    const targets = [
      new RefTarget(server),
      viaProxy(),
      new QemuTarget(),
      // Another CPU count: the target no longer vouches for the warp.
      new QemuTarget({ extraArgs: ['-smp', '1'] }),
    ];
    for (const target of targets) {
      const qtest = await target.start();
      try {
        kinds.push((await deviceClock(qtest)).kind);
      } finally {
        await target.close();
      }
    }
    assert.deepEqual(kinds, ['stepped', 'host', 'warped', 'host']);
    assert.equal(warpsItsClock(['-device', 'edu,dma_mask=0xffffffffffffffff']), true);
    assert.equal(warpsItsClock(['--icount', 'shift=0']), false);
  });

  it('on QEMU, ends a wait for a fault report that never comes once QEMU has settled', async () => {
    await withSession(new QemuTarget(), async (session) => {
      await session.driver.start();
      const clock = await deviceClock(session.qtest);
      let looks = 0;
      await assert.rejects(
        clock.waitFor(
          async () => {
            looks++;
            return (await session.driver.collectEvents()).length > 0 ? true : undefined;
          },
          { timeoutMs: 60_000, what: 'a fault report' },
        ),
        (error: unknown) =>
          error instanceof PollTimeoutError &&
          error.settled !== undefined &&
          /^gave up waiting for a fault report: \d+ looks in a row in \d+ ms found nothing/.test(
            error.message,
          ),
      );
      assert.ok(looks >= SETTLED_LOOKS, `${looks} looks`);
    });
  });

  it('on QEMU, still waits for an edu transfer in host time (the warp waits for the vCPU thread)', async () => {
    await withSession(new QemuTarget(), async (session) => {
      const clock = await deviceClock(session.qtest);
      let looks = 0;
      const began = performance.now();
      // A device timer that fires only after a host-time delay: settling would miss it.
      const late = await clock.waitForTimer(
        async () => {
          looks++;
          await session.qtest.readb(session.staging.base);
          return performance.now() - began >= 150 ? 'fired' : undefined;
        },
        { timeoutMs: 2000, what: 'a late timer' },
      );
      assert.equal(late, 'fired');
      assert.ok(looks > SETTLED_LOOKS, `${looks} looks`);
    });
  });

  it('behind the proxy, waits in host time for an answer that comes late', async () => {
    await withSession(viaProxy(), async (session) => {
      const clock = await deviceClock(session.qtest);
      const began = performance.now();
      // A device that is merely slow: it answers after 150 ms of host time.
      const answer = await clock.waitFor(
        async () => {
          await session.qtest.readb(session.staging.base);
          return performance.now() - began >= 150 ? 'answered' : undefined;
        },
        { timeoutMs: 2000, what: 'a slow answer' },
      );
      assert.equal(answer, 'answered');
    });
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
