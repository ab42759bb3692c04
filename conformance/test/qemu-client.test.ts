// The QEMU target's qtest client: a command QEMU spins on is a hang after half a second of
// QEMU's CPU time; a device that answers, however busy, or that stops without spinning, is left
// to the reply timeout as before.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { VIRTIO_IOMMU_MAP_F_READ, VIRTIO_IOMMU_MAP_F_WRITE } from '../../dist/ts/index.js';
import { QtestTimeoutError } from '../qtest/errors.js';
import { openSession } from '../session.js';
import { QemuSpinningError, QemuQtestClient, SPIN_CPU_MS } from '../targets/qemu-client.js';
import { QemuTarget } from '../targets/qemu.js';

const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);

describe('the QEMU target qtest client', function () {
  this.timeout(30_000);

  it('takes a request QEMU 7.2 spins on (UNMAP over an inverted mapping) for a hang, by its CPU time', async () => {
    // A reply timeout far beyond the test's: only QEMU's CPU time can end the wait.
    const target = new QemuTarget({ replyTimeoutMs: 600_000 });
    const session = await openSession(target);
    try {
      const { driver } = session;
      await driver.start();
      const endpoint = BigInt(driver.edu!.endpointId);
      await driver.request('attach', { domain: 1n, endpoint });
      const inverted = { domain: 1n, virt_start: 0x3000n, virt_end: 0x1000n };
      await driver.request('map', { ...inverted, phys_start: session.ram.base, flags: RW });
      const error = await driver
        .request('unmap', { domain: 1n, virt_start: 0n, virt_end: 0xffffn })
        .catch((e: unknown) => e);
      assert.ok(error instanceof QemuSpinningError, String(error));
      assert.ok(error instanceof QtestTimeoutError);
      assert.match(
        error.message,
        /no reply while QEMU spent \d+ ms of CPU time in \d+ ms \(device hung, spinning\)/,
      );
      // Every later command fails the same way, without waiting.
      await assert.rejects(session.qtest.readl(0), QemuSpinningError);
    } finally {
      await target.close();
    }
  });

  describe('against a fake QEMU whose CPU time the test sets', () => {
    let server: ReturnType<typeof createServer>;
    const peers = new Set<Socket>();
    /** The peer answers each command after this long, or never (undefined). */
    let answerAfterMs: number | undefined;
    let cpuMs: () => number;

    before(async () => {
      server = createServer((peer) => {
        peers.add(peer);
        peer.setEncoding('latin1');
        peer.on('data', (chunk: string) => {
          const commands = chunk.split('\n').length - 1;
          for (let i = 0; i < commands && answerAfterMs !== undefined; i++) {
            setTimeout(() => peer.writable && peer.write('OK 0x0\n'), answerAfterMs);
          }
        });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    });
    after(() => {
      peers.forEach((peer) => peer.destroy());
      server.close();
    });

    async function client(replyTimeoutMs: number): Promise<QemuQtestClient> {
      const { port } = server.address() as AddressInfo;
      const socket = connect({ host: '127.0.0.1', port });
      await once(socket, 'connect');
      return new QemuQtestClient(socket, { replyTimeoutMs }, () => cpuMs());
    }

    it('leaves a QEMU that stops answering without spinning to the reply timeout', async () => {
      answerAfterMs = undefined;
      cpuMs = () => 1000; // no CPU time spent
      // Longer than SPIN_CPU_MS, so that wall time mistaken for CPU time would show.
      const qtest = await client(SPIN_CPU_MS * 3);
      const error = await qtest.readl(0).catch((e: unknown) => e);
      assert.ok(error instanceof QtestTimeoutError, String(error));
      assert.ok(!(error instanceof QemuSpinningError), error.message);
      assert.match(error.message, /no reply within 1500 ms/);
      await qtest.close();
    });

    it('never takes a QEMU that keeps answering for hung, however much CPU it uses', async () => {
      answerAfterMs = 100;
      // Two CPU milliseconds a millisecond: over SPIN_CPU_MS well before the last reply.
      cpuMs = () => performance.now() * 2;
      const qtest = await client(5000);
      const began = performance.now();
      for (let i = 0; i < 8; i++) assert.equal(await qtest.readl(i * 4), 0);
      assert.ok((performance.now() - began) * 2 > SPIN_CPU_MS);
      await qtest.close();
    });
  });
});
