import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
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

  it('replaces a stale socket file (its server died) but refuses to replace anything else', async () => {
    const path = join(dir, 'stale.sock');
    // A server killed with SIGKILL leaves its socket file behind with nobody listening.
    const dead = spawn(
      process.execPath,
      [
        '-e',
        "require('net').createServer().listen(process.argv[1], () => console.log('up'))",
        path,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    await new Promise((resolve) => dead.stdout.once('data', resolve));
    dead.kill('SIGKILL');
    await new Promise((resolve) => dead.once('exit', resolve));
    assert.equal(statSync(path).isSocket(), true);
    const s = await start(`unix:${path}`);
    const client = await LineClient.connect(s.address);
    assert.equal(await client.send('endianness'), 'OK little');
    await client.close();
    await s.close();

    const file = join(dir, 'file');
    writeFileSync(file, 'keep me');
    await assert.rejects(start(`unix:${file}`), /exists and is not a socket/);
    assert.equal(existsSync(file), true);
  });

  it('refuses a socket path another server answers on, and leaves that server serving', async () => {
    const path = join(dir, 'live.sock');
    const first = await start(`unix:${path}`);
    const client = await LineClient.connect(first.address);
    await assert.rejects(
      startQtestServer({
        listen: `unix:${path}`,
        board: () => createBoard(q35, { iommuModel: echoIommuFactory() }),
      }),
      new RegExp(`another server is listening on ${path}; stop it or choose another path`),
    );
    assert.equal(await client.send('endianness'), 'OK little', 'the first keeps its client');
    const later = await LineClient.connect(first.address);
    assert.equal(await later.send('endianness'), 'OK little', 'and takes new ones');
    await later.close();
    await client.close();
  });

  it('says so when the folder of a socket path does not exist', async () => {
    const path = join(dir, 'no', 'such', 'folder', 'q.sock');
    await assert.rejects(start(`unix:${path}`), {
      message: `the folder ${join(dir, 'no', 'such', 'folder')} does not exist`,
    });
    const file = join(dir, 'plain');
    writeFileSync(file, '');
    await assert.rejects(start(`unix:${join(file, 'q.sock')}`), {
      message: `${file} is not a folder`,
    });
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

  it('answers data replies in order among short ones, small ones in the same write, long ones streamed', async () => {
    const s = await start('tcp:0');
    const client = await LineClient.connect(s.address);
    const pattern = Buffer.from(
      Array.from({ length: 200_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff),
    );
    assert.equal(
      await client.send(`b64write 0x20000 ${pattern.length} ${pattern.toString('base64')}`),
      'OK',
    );
    const lines: string[] = [];
    const expected: string[] = [];
    // Data replies of 1 byte up to past the 48 KiB piece size, in hex and base64, each
    // between short replies, all in one chunk.
    for (const length of [1, 2, 3, 64, 128, 129, 4096, 48 * 1024, 48 * 1024 + 1, 150_000]) {
      const bytes = pattern.subarray(0, length);
      lines.push(
        `b64read 0x20000 ${length}`,
        'endianness',
        `read 0x20000 ${length}`,
        'readb 0x20000',
      );
      expected.push(
        `OK ${bytes.toString('base64')}`,
        'OK little',
        `OK 0x${bytes.toString('hex')}`,
        `OK 0x${pattern[0]!.toString(16).padStart(16, '0')}`,
      );
    }
    const replies = await client.sendAll(lines);
    assert.equal(replies.length, expected.length);
    replies.forEach((reply, i) => assert.ok(reply === expected[i], `reply ${i} to ${lines[i]}`));
    await client.close();
  });

  it('serves clients side by side, each on a fresh board: a silent client holds up nobody', async () => {
    const s = await start(`unix:${join(dir, 'side.sock')}`);
    const first = await LineClient.connect(s.address);
    assert.equal(await first.send('writel 0x1000 0x1234'), 'OK');
    // The first client now stays silent; the second is served at once.
    const asked = Date.now();
    const second = await LineClient.connect(s.address);
    assert.equal(await second.send('readl 0x1000'), 'OK 0x0000000000000000', 'fresh RAM');
    assert.ok(Date.now() - asked < 1000, `served after ${Date.now() - asked} ms`);
    assert.equal(await first.send('readl 0x1000'), 'OK 0x0000000000001234', 'its own board');
    assert.equal(boards, 2);
    assert.notEqual(models[0], models[1]);
    await first.close();
    await second.close();
  });

  it("gives up a client's board when it leaves: the next board reads zeros where it wrote", async () => {
    const disposed: number[] = [];
    server = await startQtestServer({
      listen: 'tcp:0',
      board: () => {
        const board = createBoard(q35, { iommuModel: echoIommuFactory() });
        const id = ++boards;
        const dispose = board.dispose.bind(board);
        board.dispose = () => {
          disposed.push(id);
          dispose();
        };
        return board;
      },
    });
    const first = await LineClient.connect(server.address);
    assert.equal(await first.send('memset 0x0 0x100000 0x5a'), 'OK');
    await first.close();
    for (let tries = 0; disposed.length === 0; tries++) {
      assert.ok(tries < 50, 'the board was not disposed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(disposed, [1]);
    const second = await LineClient.connect(server.address);
    // A byte written makes the page; the rest of it must read as zeros all the same.
    const page = Buffer.alloc(0x1000);
    page[0x10] = 0x01;
    for (const at of [0x0, 0x7f000, 0xff000]) {
      assert.equal(await second.send(`writeb 0x${(at + 0x10).toString(16)} 0x1`), 'OK');
      assert.equal(
        await second.send(`b64read 0x${at.toString(16)} 0x1000`),
        `OK ${page.toString('base64')}`,
      );
    }
    await second.close();
  });

  it('past maxClients, a new client gets one FAIL line and is closed; a slot frees when a client leaves', async () => {
    const logs: string[] = [];
    server = await startQtestServer({
      listen: 'tcp:0',
      maxClients: 2,
      board: () => createBoard(q35, { iommuModel: echoIommuFactory() }),
      log: (message) => logs.push(message),
    });
    const first = await LineClient.connect(server.address);
    const second = await LineClient.connect(server.address);
    assert.equal(await second.send('endianness'), 'OK little');
    const third = await LineClient.connect(server.address);
    assert.equal(
      await third.send('endianness'),
      'FAIL device-ref serves 2 clients at once; try again later',
    );
    assert.ok(logs.some((line) => line.includes('refusing one more')));
    await third.close();
    await first.close();
    // The server sees the close a moment later.
    for (let tries = 0; ; tries++) {
      const fourth = await LineClient.connect(server.address);
      const reply = await fourth.send('endianness');
      await fourth.close();
      if (reply === 'OK little') break;
      assert.ok(tries < 50, 'no slot freed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await second.close();
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
        memoryBacked: () => false,
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

  it('ends only its own connection when a model fails while a read reply streams out', async () => {
    const logs: string[] = [];
    server = await startQtestServer({
      listen: 'tcp:0',
      board: () => {
        const board = createBoard(q35, { iommuModel: echoIommuFactory() });
        board.memoryRead = () => {
          throw new RangeError('model bug');
        };
        return board;
      },
      log: (message) => logs.push(message),
    });
    const victim = await LineClient.connect(server.address);
    const closed = new Promise<void>((resolve) => victim.onClose(resolve));
    void victim.send('read 0x0 0x10');
    await closed;
    assert.ok(logs.some((line) => line.includes('model bug')));
    const next = await LineClient.connect(server.address);
    assert.equal(await next.send('endianness'), 'OK little');
    await next.close();
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
