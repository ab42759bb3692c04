import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EduDevice } from '../edu/edu.js';
import { PciBus } from '../pci/bus.js';
import { QtestClient } from '../qtest/client.js';
import { qtestTraffic, type IrqEvent } from '../qtest/connection.js';
import {
  QtestClosedError,
  QtestProtocolError,
  QtestReplyError,
  QtestTimeoutError,
} from '../qtest/errors.js';
import { QemuTarget } from '../targets/qemu.js';
import { connectSocket } from '../targets/socket.js';
import { startListeningQemu } from './support/listening-qemu.js';
import { qemuPerTest } from './support/qemu-per-test.js';

describe('qtest client (real QEMU)', () => {
  const qemu = qemuPerTest();

  beforeEach(async () => {});

  it('reads back what the typed memory helpers wrote, at every width', async () => {
    await qemu.qtest.writeb(0x2000, 0xab);
    await qemu.qtest.writew(0x2002, 0xbeef);
    await qemu.qtest.writel(0x2004, 0xdeadbeef);
    await qemu.qtest.writeq(0x2008, 0x0123_4567_89ab_cdefn);
    assert.equal(await qemu.qtest.readb(0x2000), 0xab);
    assert.equal(await qemu.qtest.readw(0x2002), 0xbeef);
    assert.equal(await qemu.qtest.readl(0x2004), 0xdeadbeef);
    assert.equal(await qemu.qtest.readq(0x2008), 0x0123_4567_89ab_cdefn);
    assert.deepEqual(
      [...(await qemu.qtest.memread(0x2000, 16))],
      [0xab, 0, 0xef, 0xbe, 0xef, 0xbe, 0xad, 0xde, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01],
    );
  });

  it('moves blocks with b64write/b64read and fills with memset', async () => {
    const block = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff);
    await qemu.qtest.memwrite(0x10_0000n, block);
    assert.deepEqual(await qemu.qtest.memread(0x10_0000n, block.length), block);
    await qemu.qtest.memset(0x10_0010n, 32, 0x5a);
    const after = await qemu.qtest.memread(0x10_0000n, 64);
    assert.deepEqual([...after.subarray(16, 48)], new Array(32).fill(0x5a));
    assert.equal(after[48], block[48]);
    assert.deepEqual(await qemu.qtest.memread(0x10_0000n, 0), new Uint8Array(0));
  });

  it('writes base64 given as its ASCII bytes, between text commands of the same pipeline', async () => {
    const block = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13 + 5) & 0xff);
    const ascii = Buffer.from(Buffer.from(block).toString('base64'), 'latin1');
    const [, , marker] = await Promise.all([
      qemu.qtest.writel(0x30_0000n, 0x1234_5678),
      qemu.qtest.memwriteBase64(0x30_1000n, block.length, ascii),
      qemu.qtest.readl(0x30_0000n),
      qemu.qtest.memwriteBase64(0x30_2000n, block.length, ascii),
    ]);
    assert.equal(marker, 0x1234_5678);
    assert.deepEqual(await qemu.qtest.memread(0x30_1000n, block.length), block);
    assert.deepEqual(await qemu.qtest.memread(0x30_2000n, block.length), block);
    await assert.rejects(
      qemu.qtest.memwriteBase64(0, 3, Buffer.from('AAAA\n', 'latin1')),
      RangeError,
    );
    await assert.rejects(
      qemu.qtest.command({ head: 'b64write 0x0 3', data: Buffer.from('AA\nA') }),
      TypeError,
    );
    assert.equal(await qemu.qtest.readl(0x30_0000n), 0x1234_5678);
  });

  it('does port I/O: the q35 host bridge ID through 0xcf8/0xcfc', async () => {
    await qemu.qtest.outl(0xcf8, 0x8000_0000);
    assert.equal(await qemu.qtest.inl(0xcfc), 0x29c0_8086);
    assert.equal(await qemu.qtest.inw(0xcfe), 0x29c0);
    assert.equal(await qemu.qtest.inb(0xcfc), 0x86);
  });

  it('matches pipelined replies to their commands in order', async () => {
    const words = Uint32Array.from({ length: 1024 }, (_, i) => (i * 0x9e37_79b9) >>> 0);
    await qemu.qtest.memwrite(0x20_0000n, new Uint8Array(words.buffer));
    const reads = Array.from(words, (_, i) => qemu.qtest.readl(0x20_0000 + 4 * i));
    assert.deepEqual(await Promise.all(reads), [...words]);
  });

  it('counts the commands it sends and the socket writes they leave in', async () => {
    const before = { ...qtestTraffic };
    // Three commands of one tick leave in one write; the fourth, issued later, in another.
    await Promise.all([
      qemu.qtest.writel(0x2000, 1),
      qemu.qtest.readl(0x2000),
      qemu.qtest.readb(0x2000),
    ]);
    await qemu.qtest.readw(0x2000);
    assert.deepEqual(
      {
        commands: qtestTraffic.commands - before.commands,
        writes: qtestTraffic.writes - before.writes,
      },
      { commands: 4, writes: 2 },
    );
  });

  it('turns FAIL into a QtestReplyError with command and reply, and stays usable', async () => {
    const error = await qemu.qtest.command('clock_step 1000').catch((e: unknown) => e);
    assert.ok(error instanceof QtestReplyError);
    assert.equal(error.command, 'clock_step 1000');
    assert.equal(error.reply, "FAIL Unknown command 'clock_step'");
    assert.equal(await qemu.qtest.command('endianness'), 'little');
  });

  it('refuses lines QEMU would choke on, and values that do not fit, before sending', async () => {
    await assert.rejects(qemu.qtest.command(''), TypeError);
    await assert.rejects(qemu.qtest.command('readl 0x0\nreadl 0x4'), TypeError);
    await assert.rejects(qemu.qtest.command(' readl 0x0'), TypeError);
    await assert.rejects(qemu.qtest.writeb(0, 0x100), RangeError);
    await assert.rejects(qemu.qtest.readl(-4), RangeError);
    await assert.rejects(qemu.qtest.readq(1n << 64n), RangeError);
    await assert.rejects(qemu.qtest.outl(0x1_0000, 0), RangeError);
    await assert.rejects(qemu.qtest.irqInterceptIn('ioapic; quit'), TypeError);
    assert.equal(await qemu.qtest.readl(0), 0);
  });

  it('separates asynchronous IRQ lines from replies', async () => {
    const edu = await EduDevice.open(new PciBus(qemu.qtest));
    const events: IrqEvent[] = [];
    const unsubscribe = qemu.qtest.onIrq((event) => events.push(event));
    await qemu.qtest.irqInterceptIn('ioapic');
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
    await qemu.target.close();
    qemu.target = new QemuTarget({ replyTimeoutMs: 200 });
    qemu.qtest = await qemu.target.start();
    process.kill(qemu.target.pid!, 'SIGSTOP');
    try {
      const started = performance.now();
      const first = qemu.qtest.readl(0).catch((e: unknown) => e);
      const second = qemu.qtest.readl(4).catch((e: unknown) => e);
      const timeout = await first;
      assert.ok(timeout instanceof QtestTimeoutError, String(timeout));
      assert.equal(timeout.command, 'readl 0x0');
      assert.ok(performance.now() - started < 2000);
      const cutOff = await second;
      assert.ok(cutOff instanceof QtestClosedError);
      assert.match(cutOff.message, /'readl 0x4'.*no reply to 'readl 0x0' within 200 ms/);
      assert.ok(qemu.qtest.closed);
      await assert.rejects(qemu.qtest.readl(8), QtestClosedError);
    } finally {
      process.kill(qemu.target.pid!, 'SIGCONT');
    }
  });

  it('reports a device that dies mid-command, with QEMU exit status and stderr', async () => {
    // `readl` without an address makes QEMU 7.2 fail an assertion and abort.
    const error = await qemu.qtest.command('readl').catch((e: unknown) => e);
    assert.ok(error instanceof QtestClosedError);
    assert.equal(error.command, 'readl');
    assert.match(error.message, /QEMU was killed by SIGABRT/);
    assert.match(error.message, /assertion failed/);
    await assert.rejects(qemu.qtest.readl(0), /SIGABRT/);
  });

  it('reports a killed device on every outstanding command', async () => {
    const pending = [qemu.qtest.readl(0), qemu.qtest.readl(4)].map((p) =>
      p.catch((e: unknown) => e),
    );
    process.kill(qemu.target.pid!, 'SIGKILL');
    const more = qemu.qtest.readl(8).catch((e: unknown) => e);
    for (const error of [...(await Promise.all(pending)), await more]) {
      // The first two may have been answered before the kill landed.
      if (typeof error === 'number') continue;
      assert.ok(error instanceof QtestClosedError, String(error));
      assert.match(error.message, /QEMU was killed by SIGKILL/);
    }
    await assert.rejects(qemu.qtest.readl(12), /SIGKILL/);
  });

  it('fails outstanding commands when we close the client', async () => {
    const pending = qemu.qtest.readl(0).catch((e: unknown) => e);
    await qemu.qtest.close();
    const error = await pending;
    assert.ok(error instanceof QtestClosedError, String(error));
    await assert.rejects(qemu.qtest.readl(0), /closed by the client/);
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

describe('qtest client against a slow peer (a socket that answers late, then not at all)', () => {
  it('gives every reply its own time limit: a slow pipeline completes, then a missing reply times out', async () => {
    // Three commands leave at once; the peer answers the first after 600 ms, the second 600 ms
    // later (1200 ms in all, past the 1000 ms limit), and never the third.
    const peers = new Set<Socket>();
    const server = createServer((peer) => {
      peers.add(peer);
      const first = setTimeout(() => peer.write('OK 0x1\n'), 600);
      const second = setTimeout(() => peer.write('OK 0x2\n'), 1200);
      peer.on('close', () => [first, second].forEach(clearTimeout));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const socket = connect({ host: '127.0.0.1', port });
      await once(socket, 'connect');
      const client = new QtestClient(socket, { replyTimeoutMs: 1000 });
      const started = performance.now();
      const replies = [client.readl(0), client.readl(4), client.readl(8)].map((p) =>
        p.catch((e: unknown) => e),
      );
      assert.equal(await replies[0], 1);
      assert.equal(await replies[1], 2);
      const timeout = await replies[2];
      assert.ok(timeout instanceof QtestTimeoutError, String(timeout));
      assert.equal(timeout.command, 'readl 0x8');
      // The limit runs from the second reply (at 1200 ms or later), not from the first command.
      assert.ok(performance.now() - started >= 2100);
      assert.ok(client.closed);
    } finally {
      peers.forEach((peer) => peer.destroy());
      server.close();
    }
  });
});

describe('qtest client against a scripted peer (malformed replies, replies in pieces)', () => {
  /** Answers each command line with `answer(line)`; pieces of an array leave 5 ms apart. */
  let answer: (line: string) => string | string[];
  let client: QtestClient;
  const peers = new Set<Socket>();
  const server = createServer((peer) => {
    peers.add(peer);
    peer.setEncoding('latin1');
    let partial = '';
    peer.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const reply = answer(line);
        if (typeof reply === 'string') {
          peer.write(`${reply}\n`);
          continue;
        }
        reply.forEach((piece, i) => setTimeout(() => peer.write(piece), 5 * i));
      }
    });
  });

  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    await once(socket, 'connect');
    client = new QtestClient(socket, { replyTimeoutMs: 2000 });
  });
  after(async () => {
    await client.close();
    peers.forEach((peer) => peer.destroy());
    server.close();
  });

  /** `call` fails with a QtestProtocolError naming `command` and saying `detail`. */
  async function refused(call: Promise<unknown>, command: string, detail: RegExp): Promise<void> {
    const error = await call.catch((e: unknown) => e);
    assert.ok(error instanceof QtestProtocolError, String(error));
    assert.equal(error.command, command);
    assert.match(error.message, detail);
  }

  it('takes values of the width asked for, padded or not', async () => {
    answer = () => 'OK 0x00000000000000ff';
    assert.equal(await client.readb(0), 0xff);
    answer = () => 'OK 0xffff';
    assert.equal(await client.inw(0x10), 0xffff);
    answer = () => 'OK 0xAbC';
    assert.equal(await client.inl(0x10), 0xabc);
    answer = () => 'OK 0x00000000ffffffff';
    assert.equal(await client.readl(0), 0xffff_ffff);
    answer = () => 'OK 0xffffffffffffffff';
    assert.equal(await client.readq(0), 0xffff_ffff_ffff_ffffn);
  });

  it('refuses a value wider than the read, or not hexadecimal, and stays usable', async () => {
    answer = () => 'OK 0x100';
    await refused(client.readb(0x10), 'readb 0x10', /value wider than 8 bits/);
    answer = () => 'OK 0x10000';
    await refused(client.inw(0x20), 'inw 0x20', /value wider than 16 bits/);
    answer = () => 'OK 0x0000000100000000';
    await refused(client.readl(0), 'readl 0x0', /value wider than 32 bits/);
    answer = () => 'OK 0xffffffffffffffff';
    await refused(client.readl(0), 'readl 0x0', /value wider than 32 bits/);
    for (const payload of [
      '12',
      '0x',
      '0x1 ',
      '0x1g',
      '0x1@',
      '0x10000000000000000',
      '-0x1',
      '0X1',
    ]) {
      answer = () => `OK ${payload}`;
      await refused(client.readl(0), 'readl 0x0', /expected a hexadecimal value/);
      await refused(client.readq(0), 'readq 0x0', /expected a hexadecimal value/);
    }
    answer = () => 'OK 0x7';
    assert.equal(await client.readb(0), 7);
    assert.ok(!client.closed);
  });

  it('writes addresses and values in hex as they are, without leading zeros, at every width', async () => {
    const lines: string[] = [];
    answer = (line) => {
      lines.push(line);
      return 'OK';
    };
    const values = [
      0,
      0xf,
      0x10,
      0xff,
      0x100,
      0xfff,
      0x1000,
      0xffff,
      0x1_0000,
      0xff_ffff,
      0x100_0000,
      0x7fff_ffff,
      0x8000_0000,
      0xfebd_1004,
      0xffff_ffff,
      0x1_0000_0000,
      0x1_0000_0001,
      0xf_0000_0000,
      0x12_3456_789a,
      2 ** 52,
      Number.MAX_SAFE_INTEGER,
    ];
    for (const value of values) await client.writeq(value, value);
    await client.writeq(0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n);
    await client.writel(0x1234_5678n, 0xdead_beef);
    assert.deepEqual(lines, [
      ...values.map((value) => `writeq 0x${value.toString(16)} 0x${value.toString(16)}`),
      'writeq 0xffffffffffffffff 0x8000000000000000',
      'writel 0x12345678 0xdeadbeef',
    ]);
  });

  it('refuses a payload on a write', async () => {
    answer = () => 'OK 0x0';
    await refused(client.writew(0x40, 1), 'writew 0x40 0x1', /unexpected payload/);
    await refused(
      client.memwrite(0x40, new Uint8Array(3)),
      'b64write 0x40 3 AAAA',
      /unexpected payload/,
    );
  });

  it('puts a reply together from the pieces it comes in', async () => {
    const bytes = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
    const base64 = Buffer.from(bytes).toString('base64');
    answer = () => [
      'OK ',
      base64.slice(0, 1000),
      base64.slice(1000, 3000),
      base64.slice(3000),
      '\n',
    ];
    assert.deepEqual(await client.memread(0x100, bytes.length), bytes);
    // Both replies in pieces after the first command: the second is answered by none.
    answer = (line) => (line === 'readb 0x0' ? ['O', 'K 0x1', '2\nOK 0x34', '\n'] : []);
    assert.deepEqual(await Promise.all([client.readb(0), client.readb(1)]), [0x12, 0x34]);
  });

  it('refuses a b64read reply that is not the base64 of as many bytes as asked for', async () => {
    answer = () => 'OK AAAAAA==';
    assert.deepEqual(await client.memread(0x80, 4), new Uint8Array(4));
    assert.equal(await client.memreadBase64(0x80, 4), 'AAAAAA==');
    for (const [payload, detail] of [
      ['AAAA', /reply is not base64/],
      ['AAAAAAAAAAAA', /reply is not base64/],
      ['AAAAAAA=', /reply is not base64/],
      ['AA*AAA==', /expected 4 bytes, got 3/],
    ] as const) {
      answer = () => `OK ${payload}`;
      await refused(client.memread(0x80, 4), 'b64read 0x80 4', detail);
    }
    answer = () => 'OK AAAA';
    await refused(client.memreadBase64(0x80, 4), 'b64read 0x80 4', /reply is not base64/);
  });
});
