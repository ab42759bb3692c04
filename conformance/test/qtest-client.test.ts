import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EduDevice } from '../edu/edu.js';
import { PciBus } from '../pci/bus.js';
import { QtestClient } from '../qtest/client.js';
import type { IrqEvent } from '../qtest/connection.js';
import {
  QtestClosedError,
  QtestProtocolError,
  QtestReplyError,
  QtestTimeoutError,
} from '../qtest/errors.js';
import { QemuTarget } from '../targets/qemu.js';
import { connectSocket } from '../targets/socket.js';
import { startListeningQemu } from './support/listening-qemu.js';

describe('qtest client (real QEMU)', () => {
  let target: QemuTarget;
  let qtest: QtestClient;

  beforeEach(async () => {
    target = new QemuTarget();
    qtest = await target.start();
  });
  afterEach(() => target.close());

  it('reads back what the typed memory helpers wrote, at every width', async () => {
    await qtest.writeb(0x2000, 0xab);
    await qtest.writew(0x2002, 0xbeef);
    await qtest.writel(0x2004, 0xdeadbeef);
    await qtest.writeq(0x2008, 0x0123_4567_89ab_cdefn);
    assert.equal(await qtest.readb(0x2000), 0xab);
    assert.equal(await qtest.readw(0x2002), 0xbeef);
    assert.equal(await qtest.readl(0x2004), 0xdeadbeef);
    assert.equal(await qtest.readq(0x2008), 0x0123_4567_89ab_cdefn);
    assert.deepEqual(
      [...(await qtest.memread(0x2000, 16))],
      [0xab, 0, 0xef, 0xbe, 0xef, 0xbe, 0xad, 0xde, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01],
    );
  });

  it('moves blocks with b64write/b64read and fills with memset', async () => {
    const block = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff);
    await qtest.memwrite(0x10_0000n, block);
    assert.deepEqual(await qtest.memread(0x10_0000n, block.length), block);
    await qtest.memset(0x10_0010n, 32, 0x5a);
    const after = await qtest.memread(0x10_0000n, 64);
    assert.deepEqual([...after.subarray(16, 48)], new Array(32).fill(0x5a));
    assert.equal(after[48], block[48]);
    assert.deepEqual(await qtest.memread(0x10_0000n, 0), new Uint8Array(0));
  });

  it('does port I/O: the q35 host bridge ID through 0xcf8/0xcfc', async () => {
    await qtest.outl(0xcf8, 0x8000_0000);
    assert.equal(await qtest.inl(0xcfc), 0x29c0_8086);
    assert.equal(await qtest.inw(0xcfe), 0x29c0);
    assert.equal(await qtest.inb(0xcfc), 0x86);
  });

  it('matches pipelined replies to their commands in order', async () => {
    const words = Uint32Array.from({ length: 1024 }, (_, i) => (i * 0x9e37_79b9) >>> 0);
    await qtest.memwrite(0x20_0000n, new Uint8Array(words.buffer));
    const reads = Array.from(words, (_, i) => qtest.readl(0x20_0000 + 4 * i));
    assert.deepEqual(await Promise.all(reads), [...words]);
  });

  it('turns FAIL into a QtestReplyError with command and reply, and stays usable', async () => {
    const error = await qtest.command('clock_step 1000').catch((e: unknown) => e);
    assert.ok(error instanceof QtestReplyError);
    assert.equal(error.command, 'clock_step 1000');
    assert.equal(error.reply, "FAIL Unknown command 'clock_step'");
    assert.equal(await qtest.command('endianness'), 'little');
  });

  it('refuses lines QEMU would choke on, and values that do not fit, before sending', async () => {
    await assert.rejects(qtest.command(''), TypeError);
    await assert.rejects(qtest.command('readl 0x0\nreadl 0x4'), TypeError);
    await assert.rejects(qtest.command(' readl 0x0'), TypeError);
    await assert.rejects(qtest.writeb(0, 0x100), RangeError);
    await assert.rejects(qtest.readl(-4), RangeError);
    await assert.rejects(qtest.readq(1n << 64n), RangeError);
    await assert.rejects(qtest.outl(0x1_0000, 0), RangeError);
    await assert.rejects(qtest.irqInterceptIn('ioapic; quit'), TypeError);
    assert.equal(await qtest.readl(0), 0);
  });

  it('separates asynchronous IRQ lines from replies', async () => {
    const edu = await EduDevice.open(new PciBus(qtest));
    const events: IrqEvent[] = [];
    const unsubscribe = qtest.onIrq((event) => events.push(event));
    await qtest.irqInterceptIn('ioapic');
    const registers = edu.device.bar(0);
    // 0x60 raises edu's INTx, 0x64 acknowledges it; 0x24 reads the pending status. QEMU
    // sends the IRQ line in the middle of the pipelined replies.
    const results = await Promise.all([
      registers.write32(0x60, 1),
      registers.read32(0x24),
      registers.write32(0x64, 1),
      registers.read32(0x24),
      registers.read32(0x00),
    ]);
    unsubscribe();
    assert.deepEqual(results, [undefined, 1, undefined, 0, 0x0100_00ed]);
    // Under TCG the PIT's IRQ 0 can tick in between on a loaded machine: judge edu's line only.
    const edu22 = events.filter((event) => event.irq === 22);
    assert.deepEqual(
      edu22.map((event) => event.line),
      ['IRQ raise 22', 'IRQ lower 22'],
    );
    assert.deepEqual(edu22[0], { action: 'raise', irq: 22, line: 'IRQ raise 22' });
  });

  it('times out on a hung device and fails every outstanding and later command', async () => {
    await target.close();
    target = new QemuTarget({ replyTimeoutMs: 200 });
    qtest = await target.start();
    process.kill(target.pid!, 'SIGSTOP');
    try {
      const started = performance.now();
      const first = qtest.readl(0).catch((e: unknown) => e);
      const second = qtest.readl(4).catch((e: unknown) => e);
      const timeout = await first;
      assert.ok(timeout instanceof QtestTimeoutError, String(timeout));
      assert.equal(timeout.command, 'readl 0x0');
      assert.ok(performance.now() - started < 2000);
      const cutOff = await second;
      assert.ok(cutOff instanceof QtestClosedError);
      assert.match(cutOff.message, /'readl 0x4'.*no reply to 'readl 0x0' within 200 ms/);
      assert.ok(qtest.closed);
      await assert.rejects(qtest.readl(8), QtestClosedError);
    } finally {
      process.kill(target.pid!, 'SIGCONT');
    }
  });

  it('reports a device that dies mid-command, with QEMU exit status and stderr', async () => {
    // `readl` without an address makes QEMU 7.2 fail an assertion and abort.
    const error = await qtest.command('readl').catch((e: unknown) => e);
    assert.ok(error instanceof QtestClosedError);
    assert.equal(error.command, 'readl');
    assert.match(error.message, /QEMU was killed by SIGABRT/);
    assert.match(error.message, /assertion failed/);
    await assert.rejects(qtest.readl(0), /SIGABRT/);
  });

  it('reports a killed device on every outstanding command', async () => {
    const pending = [qtest.readl(0), qtest.readl(4)].map((p) => p.catch((e: unknown) => e));
    process.kill(target.pid!, 'SIGKILL');
    const more = qtest.readl(8).catch((e: unknown) => e);
    for (const error of [...(await Promise.all(pending)), await more]) {
      // The first two may have been answered before the kill landed.
      if (typeof error === 'number') continue;
      assert.ok(error instanceof QtestClosedError, String(error));
      assert.match(error.message, /QEMU was killed by SIGKILL/);
    }
    await assert.rejects(qtest.readl(12), /SIGKILL/);
  });

  it('fails outstanding commands when we close the client', async () => {
    const pending = qtest.readl(0).catch((e: unknown) => e);
    await qtest.close();
    const error = await pending;
    assert.ok(error instanceof QtestClosedError, String(error));
    await assert.rejects(qtest.readl(0), /closed by the client/);
  });
});

describe('qtest client against garbage (real QEMU, wrong or misused sockets)', () => {
  it('fails cleanly when the peer answers something that is not a qtest reply (QMP)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'viommu-test-'));
    const qmpPath = join(dir, 'qmp.sock');
    const target = new QemuTarget({ extraArgs: ['-qmp', `unix:${qmpPath},server=on,wait=off`] });
    try {
      await target.start();
      const socket = connect({ path: qmpPath });
      await once(socket, 'data'); // the QMP greeting
      const client = new QtestClient(socket);
      // QMP answers our line with a JSON error object.
      const error = await client.readl(0).catch((e: unknown) => e);
      assert.ok(error instanceof QtestProtocolError, String(error));
      assert.equal(error.command, 'readl 0x0');
      assert.match(error.message, /not a qtest reply: '\{"error"/);
      assert.ok(client.closed);
      await assert.rejects(client.readl(0), /not a qtest reply/);
    } finally {
      await target.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails cleanly on a reply nobody asked for', async () => {
    const qemu = await startListeningQemu('unix');
    try {
      const socket = await connectSocket(qemu.address, 2000);
      const client = new QtestClient(socket);
      assert.equal(await client.command('endianness'), 'little');
      socket.write('readl 0x0\n'); // behind the client's back: QEMU's reply matches nothing
      await once(socket, 'close');
      await assert.rejects(client.readl(0), /reply without a command: 'OK 0x0+'/);
    } finally {
      await qemu.stop();
    }
  });
});
