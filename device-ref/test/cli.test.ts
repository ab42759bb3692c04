import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDeviceCommand } from '../cli.js';
import { startDeviceServer } from '../fuzz/device-process.js';
import { echoIommuFactory } from './support/echo-device.js';
import { LineClient } from './support/qtest-client.js';

describe('viommu device (runDeviceCommand)', () => {
  let dir: string;
  let out: string;
  let err: string;
  const io = () => ({
    stdout: (t: string) => void (out += t),
    stderr: (t: string) => void (err += t),
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-cli-'));
    out = err = '';
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Serves q35 on a Unix socket with `extra` options, drives one client through a driver
   * mistake (a write to read-only num_queues), then stops; returns the exit code.
   */
  async function serveOneClient(extra: string[] = []): Promise<number> {
    const path = join(dir, 'dev.sock');
    const stop = new AbortController();
    let onListening!: (address: string) => void;
    const listening = new Promise<string>((resolve) => (onListening = resolve));
    const exited = runDeviceCommand(['--board', 'q35', '--listen', `unix:${path}`, ...extra], {
      ...io(),
      iommuModel: echoIommuFactory(),
      signal: stop.signal,
      onListening,
    });
    assert.equal(await listening, `unix:${path}`);
    const client = await LineClient.connect(`unix:${path}`);
    assert.equal(await client.send('endianness'), 'OK little');
    assert.equal(await client.send(`outl 0xcf8 ${0x80000000 | (1 << 11) | 0x20}`), 'OK');
    assert.equal(await client.send('outl 0xcfc 0xe0000000'), 'OK');
    assert.equal(await client.send(`outl 0xcf8 ${0x80000000 | (1 << 11) | 0x04}`), 'OK');
    assert.equal(await client.send('outw 0xcfc 6'), 'OK');
    assert.equal(await client.send('writew 0xe0000012 5'), 'OK');
    await client.close();
    stop.abort();
    const code = await exited;
    assert.equal(existsSync(path), false);
    return code;
  }

  it('serves a board on a Unix socket until stopped, then removes the socket', async () => {
    assert.equal(await serveOneClient(), 0);
    assert.match(out, /board q35, listening on unix:/);
    // A driver mistake shows on stderr as it happens, and so does each client.
    assert.match(err, /finding: virtio-iommu 00:01.0: driver wrote read-only num_queues/);
    assert.match(err, /qtest: client connected; fresh board/);
  });

  it('--quiet prints neither driver findings nor client lines, and serves all the same', async () => {
    assert.equal(await serveOneClient(['--quiet']), 0);
    assert.match(out, /board q35, listening on unix:/);
    assert.match(err, /qtest: listening on unix:/);
    assert.doesNotMatch(err, /finding|client/);
  });

  it('stops on SIGTERM', async () => {
    let address = '';
    const run = runDeviceCommand(['--board', 'arm64-virt', '--listen', 'tcp:0'], {
      ...io(),
      iommuModel: echoIommuFactory(),
      onListening: (a) => {
        address = a;
        process.emit('SIGTERM', 'SIGTERM');
      },
    });
    assert.equal(await run, 0);
    assert.match(address, /^tcp:127\.0\.0\.1:\d+$/);
  });

  it('refuses at start a board the schema accepts but the device cannot be', async () => {
    // Two RESV_MEM properties (48 bytes) do not fit in a probe_size of 32: the IOMMU core
    // refuses that, and the command must say so before it listens rather than drop every client.
    const file = join(dir, 'small-probe.json');
    const board = {
      name: 'small-probe',
      ram_size: 0x200000,
      iommu: {
        slot: 1,
        features: ['VIRTIO_IOMMU_F_MAP_UNMAP', 'VIRTIO_IOMMU_F_PROBE'],
        page_size_mask: '0xfffffffffffff000',
        input_range: { start: '0x0', end: '0xffffffffffffffff' },
        domain_range: { start: 0, end: 65535 },
        probe_size: 32,
        bypass: false,
      },
      endpoints: [
        {
          slot: 2,
          kind: 'edu',
          reserved_regions: [
            { subtype: 'MSI', start: '0x8090000', end: '0x809ffff' },
            { subtype: 'RESERVED', start: '0x80a0000', end: '0x80affff' },
          ],
        },
      ],
    };
    writeFileSync(file, JSON.stringify(board));
    let listened = false;
    const stop = new AbortController();
    const code = await runDeviceCommand(['--board', file, '--listen', 'tcp:0'], {
      ...io(),
      signal: stop.signal,
      onListening: () => {
        listened = true;
        stop.abort();
      },
    });
    assert.equal(code, 1);
    assert.equal(listened, false);
    assert.match(err, /viommu device: .*small-probe\.json: .*do not fit in probe_size 32/);
  });

  it('refuses a socket path a running viommu device listens on, which goes on serving', async function () {
    this.timeout(20_000);
    const path = join(dir, 'live.sock');
    const first = await startDeviceServer('q35', path);
    try {
      const second = runDeviceCommand(['--board', 'q35', '--listen', `unix:${path}`], io());
      assert.equal(await second, 1);
      assert.equal(
        err,
        `viommu device: cannot listen on unix:${path}: another server is listening on ${path}; stop it or choose another path (not replacing it)\n`,
      );
      const client = await LineClient.connect(first.address);
      assert.equal(await client.send('endianness'), 'OK little');
      await client.close();
    } finally {
      assert.equal(await first.stop(), 0);
    }
  });

  it('names the missing folder of a --listen path, and refuses a --max-clients that is not a count', async () => {
    const missing = join(dir, 'nowhere');
    const listen = `unix:${join(missing, 'q.sock')}`;
    assert.equal(await runDeviceCommand(['--board', 'q35', '--listen', listen], io()), 1);
    assert.equal(
      err,
      `viommu device: cannot listen on ${listen}: the folder ${missing} does not exist\n`,
    );
    err = '';
    const args = ['--board', 'q35', '--listen', 'tcp:0', '--max-clients', '0'];
    assert.equal(await runDeviceCommand(args, io()), 2);
    assert.match(err, /option '--max-clients <count>' argument '0' is invalid/);
  });

  it('fails with a message for a bad board, a bad address or missing options', async () => {
    assert.equal(await runDeviceCommand(['--board', 'nope.json', '--listen', 'tcp:0'], io()), 1);
    assert.match(err, /viommu device: nope\.json: invalid board description/);
    assert.equal(await runDeviceCommand(['--board', 'q35', '--listen', 'udp:1'], io()), 1);
    assert.match(err, /cannot listen on udp:1: invalid listen address/);
    assert.equal(await runDeviceCommand(['--board', 'q35'], io()), 2);
    assert.match(err, /required option '--listen <address>' not specified/);
  });
});
