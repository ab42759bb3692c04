import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBoardDescription } from '../board/description.js';
import { createBoard } from '../board/board.js';
import { MAX_LINE_BYTES } from '../qtest/connection.js';
import { startQtestServer, type QtestServer } from '../qtest/server.js';
import { echoIommuFactory, type EchoIommu } from './support/echo-device.js';
import { LineClient } from './support/qtest-client.js';

describe('qtest server', () => {
  const q35 = loadBoardDescription('q35');
  let dir: string;
  let server: QtestServer | undefined;
  let boards: number;
  const models: EchoIommu[] = [];

  const start = async (listen: string): Promise<QtestServer> => {
    server = await startQtestServer({
      listen,
      board: () => {
        boards++;
        return createBoard(q35, { iommuModel: echoIommuFactory(models) });
      },
    });
    return server;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-qtest-'));
    boards = 0;
    models.length = 0;
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates its Unix socket with mode 0600 and removes it on close', async () => {
    const path = join(dir, 'dev.sock');
    const s = await start(`unix:${path}`);
    assert.equal(s.address, `unix:${path}`);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const client = await LineClient.connect(s.address);
    assert.equal(await client.send('endianness'), 'OK little');
    await client.close();
    await s.close();
    assert.equal(existsSync(path), false);
  });

  it('replaces a stale socket file but refuses to replace anything else', async () => {
    const path = join(dir, 'stale.sock');
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(path, resolve));
    // A server still listening leaves its file as a crashed one would (closing it would remove it).
    const s = await start(`unix:${path}`);
    const client = await LineClient.connect(s.address);
    assert.equal(await client.send('endianness'), 'OK little');
    await client.close();
    await s.close();
    stale.close();

    const file = join(dir, 'file');
    writeFileSync(file, 'keep me');
    await assert.rejects(start(`unix:${file}`), /exists and is not a socket/);
    assert.equal(existsSync(file), true);
  });

  it('listens on 127.0.0.1 for tcp:PORT and reports the port it got', async () => {
    const s = await start('tcp:0');
    assert.match(s.address, /^tcp:127\.0\.0\.1:\d+$/);
    assert.notEqual(s.address, 'tcp:127.0.0.1:0');
    const client = await LineClient.connect(s.address);
    assert.equal(await client.send('inb 0x80'), 'OK 0x00ff');
    await client.close();
  });

  it('answers pipelined commands in order, many lines in one chunk', async () => {
    const s = await start('tcp:0');
    const client = await LineClient.connect(s.address);
    const lines: string[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 2000; i++) {
      lines.push(
        `writel ${0x10000 + 4 * i} ${i}`,
        `readl ${0x10000 + 4 * i}`,
        i % 100 === 0 ? 'nope' : 'endianness',
      );
      expected.push(
        'OK',
        `OK 0x${i.toString(16).padStart(16, '0')}`,
        i % 100 === 0 ? "FAIL Unknown command 'nope'" : 'OK little',
      );
    }
    assert.deepEqual(await client.sendAll(lines), expected);
    // A line split over several writes is one line.
    assert.deepEqual(await client.sendRaw('endi', 0), []);
    assert.deepEqual(await client.sendRaw('anness\nreadl 0x10000\n', 2), [
      'OK little',
      'OK 0x0000000000000000',
    ]);
    await client.close();
  });

  it('gives every connection a fresh board, one client at a time', async () => {
    const s = await start(`unix:${join(dir, 'seq.sock')}`);
    const first = await LineClient.connect(s.address);
    assert.equal(await first.send('writel 0x1000 0x1234'), 'OK');
    const second = await LineClient.connect(s.address);
    const secondReply = second.send('readl 0x1000');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(boards, 1, 'the second client waits for the first');
    assert.equal(await first.send('readl 0x1000'), 'OK 0x0000000000001234');
    await first.close();
    assert.equal(await secondReply, 'OK 0x0000000000000000', 'fresh RAM');
    assert.equal(boards, 2);
    assert.notEqual(models[0], models[1]);
    await second.close();
  });

  it('goes on to the next client when a waiting one has left', async () => {
    const s = await start('tcp:0');
    const first = await LineClient.connect(s.address);
    const quitter = await LineClient.connect(s.address);
    const third = await LineClient.connect(s.address);
    const thirdReply = third.send('endianness');
    await quitter.close();
    await first.close();
    assert.equal(await thirdReply, 'OK little');
    await third.close();
  });

  it('answers a line that is too long once, then goes on', async () => {
    const s = await start('tcp:0');
    const client = await LineClient.connect(s.address);
    const reply = client.sendRaw(`write 0x0 1 0x${'0'.repeat(MAX_LINE_BYTES)}`);
    assert.deepEqual(await reply, [`FAIL Line longer than ${MAX_LINE_BYTES} bytes`]);
    assert.deepEqual(await client.sendRaw('00\nendianness\n'), ['OK little']);
    await client.close();
  });

  it('reports a device model bug as FAIL and keeps serving', async () => {
    server = await startQtestServer({
      listen: 'tcp:0',
      board: () => ({
        endianness: 'little',
        syncTime() {},
        portRead() {
          throw new RangeError('model bug');
        },
        portWrite() {},
        memoryRead: () => undefined,
        memoryWrite: () => false,
        memoryFill: () => false,
        clockStep: () => 0n,
        clockSet: () => 0n,
      }),
    });
    const client = await LineClient.connect(server.address);
    assert.deepEqual(await client.sendAll(['inb 0x60', 'endianness']), [
      'FAIL Internal error: model bug',
      'OK little',
    ]);
    await client.close();
  });

  it('drops a connection whose board cannot be built and serves the next', async () => {
    let calls = 0;
    const logs: string[] = [];
    server = await startQtestServer({
      listen: 'tcp:0',
      board: () => {
        if (calls++ === 0) throw new Error('no board today');
        return createBoard(q35, { iommuModel: echoIommuFactory() });
      },
      log: (message) => logs.push(message),
    });
    const doomed = await LineClient.connect(server.address);
    const next = await LineClient.connect(server.address);
    assert.equal(await next.send('endianness'), 'OK little');
    assert.ok(logs.some((line) => line.includes('no board today')));
    await doomed.close();
    await next.close();
  });
});
