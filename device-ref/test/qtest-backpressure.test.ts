// Replies stream out with backpressure: `viommu device` (a real process) keeps its memory
// bounded however fast a client sends and however slowly it reads, and every reply arrives
// byte for byte. The reproductions of issue 10, item 1: sixteen pipelined 16 MiB reads in
// one chunk (the server used to join their 512 MiB of replies into one string and die), and
// a client that reads replies slower than it asks for 1 MiB reads.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryKiB, startDeviceServer, type DeviceServer } from '../fuzz/device-process.js';
import { ReplyReader } from './support/reply-reader.js';

const MiB = 1024 * 1024;

/** Guest RAM as the test wrote it: `pattern` at `at`, zeros elsewhere. */
function ramImage(size: number, writes: readonly { at: number; pattern: Buffer }[]): Buffer {
  const image = Buffer.alloc(size);
  for (const { at, pattern } of writes) pattern.copy(image, at);
  return image;
}

function patternAt(seed: number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (seed * 131 + i * 7 + (i >> 8)) & 0xff));
}

describe('qtest server: replies stream out with backpressure', function () {
  this.timeout(120_000);
  let dir: string;
  let server: DeviceServer | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-stream-'));
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 16 pipelined `read 0x0 0x1000000` sent in one chunk, byte for byte, with bounded memory', async () => {
    server = await startDeviceServer('q35', join(dir, 'q.sock'));
    const client = await ReplyReader.connect(server.address);
    const writes = [0, 8 * MiB - 2048, 16 * MiB - 4096].map((at, i) => ({
      at,
      pattern: patternAt(i + 1, 4096),
    }));
    for (const { at, pattern } of writes)
      client.send(`b64write ${at} ${pattern.length} ${pattern.toString('base64')}\n`);
    for (let i = 0; i < writes.length; i++)
      assert.equal((await client.nextLine()).toString(), 'OK');
    const before = memoryKiB(server.process.pid!, 'VmRSS');

    client.send('read 0x0 0x1000000\n'.repeat(16));
    const expected = Buffer.from(`OK 0x${ramImage(16 * MiB, writes).toString('hex')}`, 'latin1');
    for (let i = 0; i < 16; i++) {
      const reply = await client.nextLine();
      assert.equal(reply.length, expected.length, `reply ${i}: length`);
      assert.ok(reply.equals(expected), `reply ${i}: bytes`);
    }
    client.send('endianness\n');
    assert.equal((await client.nextLine()).toString(), 'OK little', 'still serving');
    const peak = memoryKiB(server.process.pid!, 'VmHWM');
    client.close();
    // 512 MiB of replies went out; the server held a few MiB of them at a time.
    assert.ok(peak - before < 48 * 1024, `peak RSS grew by ${peak - before} KiB`);
  });

  it('survives a client that stops reading while 1 MiB reads keep coming, and answers them all', async () => {
    server = await startDeviceServer('q35', join(dir, 'q.sock'));
    const client = await ReplyReader.connect(server.address);
    const pattern = patternAt(9, 3 * MiB);
    client.send(`b64write 0x100000 ${pattern.length} ${pattern.toString('base64')}\n`);
    assert.equal((await client.nextLine()).toString(), 'OK');
    const before = memoryKiB(server.process.pid!, 'VmRSS');

    // 96 reads of 1 MiB (192 MiB of hex) and b64reads sent at once; then nothing is read
    // for half a second while the server's writes back up, then the client reads slowly.
    const reads = Array.from({ length: 96 }, (_, i) => ({
      offset: (i * 37 * 4096) % (2 * MiB),
      base64: i % 3 === 2,
    }));
    for (const { offset, base64 } of reads) {
      client.send(`${base64 ? 'b64read' : 'read'} ${0x100000 + offset} 0x100000\n`);
    }
    client.socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stalled = memoryKiB(server.process.pid!, 'VmRSS');
    for (const [i, { offset, base64 }] of reads.entries()) {
      const data = pattern.subarray(offset, offset + MiB);
      const expected = base64 ? `OK ${data.toString('base64')}` : `OK 0x${data.toString('hex')}`;
      const reply = await client.nextLine();
      assert.ok(reply.equals(Buffer.from(expected, 'latin1')), `reply ${i}`);
      if (i % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    client.send('endianness\n');
    assert.equal((await client.nextLine()).toString(), 'OK little');
    const peak = memoryKiB(server.process.pid!, 'VmHWM');
    client.close();
    assert.ok(stalled - before < 24 * 1024, `RSS grew by ${stalled - before} KiB while stalled`);
    assert.ok(peak - before < 48 * 1024, `peak RSS grew by ${peak - before} KiB`);
  });

  it('answers every batch of replies byte for byte when the kernel takes a write only in part', async () => {
    server = await startDeviceServer('q35', join(dir, 'q.sock'));
    const client = await ReplyReader.connect(server.address);
    const pattern = patternAt(5, 2 * MiB);
    client.send(`b64write 0x100000 ${pattern.length} ${pattern.toString('base64')}\n`);
    assert.equal((await client.nextLine()).toString(), 'OK');
    // Small bursts, a millisecond apart, each answered with one small write, while the client
    // does not read: once the socket is full, the kernel takes a write in part and the
    // server holds the rest, which the batches after it must not overwrite.
    const reads = Array.from({ length: 600 }, (_, i) => ({
      offset: (i * 53 * 4096 + i) % (2 * MiB - 4096),
      base64: i % 5 === 4,
    }));
    client.socket.pause();
    for (const { offset, base64 } of reads) {
      client.send(`${base64 ? 'b64read' : 'read'} ${0x100000 + offset} 0x800\nreadb 0x1\n`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    for (const [i, { offset, base64 }] of reads.entries()) {
      const data = pattern.subarray(offset, offset + 0x800);
      const expected = base64 ? `OK ${data.toString('base64')}` : `OK 0x${data.toString('hex')}`;
      assert.ok((await client.nextLine()).equals(Buffer.from(expected, 'latin1')), `reply ${i}`);
      assert.equal((await client.nextLine()).toString(), 'OK 0x0000000000000000', `readb ${i}`);
    }
    client.close();
  });

  it('stops reading the socket while replies back up: 64 MiB of input wait in the client, not in the server', async () => {
    server = await startDeviceServer('q35', join(dir, 'q.sock'));
    const client = await ReplyReader.connect(server.address);
    client.send('endianness\n');
    assert.equal((await client.nextLine()).toString(), 'OK little');
    const before = memoryKiB(server.process.pid!, 'VmRSS');
    client.socket.pause();
    client.send('read 0x0 0x1000000\n'.repeat(4));
    const data = patternAt(3, MiB);
    const write = `write 0x200000 0x100000 0x${data.toString('hex')}\n`;
    for (let i = 0; i < 32; i++) client.send(write);
    client.send('read 0x200000 0x100000\n');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stalled = memoryKiB(server.process.pid!, 'VmRSS');
    const zeros = Buffer.from(`OK 0x${'00'.repeat(16 * MiB)}`, 'latin1');
    for (let i = 0; i < 4; i++) assert.ok((await client.nextLine()).equals(zeros), `read ${i}`);
    for (let i = 0; i < 32; i++) assert.equal((await client.nextLine()).toString(), 'OK');
    assert.equal((await client.nextLine()).toString(), `OK 0x${data.toString('hex')}`);
    client.close();
    assert.ok(stalled - before < 24 * 1024, `RSS grew by ${stalled - before} KiB while stalled`);
  });
});
