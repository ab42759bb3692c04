import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildHaltFirmware, HALT_FIRMWARE_SIZE } from '../targets/firmware.js';
import { QemuTarget } from '../targets/qemu.js';
import { formatSocketAddress, parseSocketAddress, SocketTarget } from '../targets/socket.js';
import { startListeningQemu } from './support/listening-qemu.js';

async function ourTempDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('viommu-qemu-'));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Linux: running, and not a zombie (killed, not yet reaped). */
async function isAliveNotZombie(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

describe('halt firmware', () => {
  it('is 64 KiB of zeros with cli; hlt at the reset vector', () => {
    const image = buildHaltFirmware();
    assert.equal(image.length, HALT_FIRMWARE_SIZE);
    assert.deepEqual([...image.subarray(0xfff0, 0xfff2)], [0xfa, 0xf4]);
    assert.equal(
      image.reduce((sum, byte) => sum + byte, 0),
      0xfa + 0xf4,
    );
  });
});

describe('qemu target', () => {
  // A private TMPDIR, so that QEMUs started by other processes meanwhile don't count as ours.
  let privateTmp: string;
  let savedTmp: string | undefined;
  before(async () => {
    privateTmp = await mkdtemp(join(tmpdir(), 'viommu-targets-test-'));
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
  });
  after(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await rm(privateTmp, { recursive: true, force: true });
  });

  it('starts QEMU on our firmware, and close() kills it and removes its temp dir', async () => {
    const before = await ourTempDirs();
    const target = new QemuTarget();
    const qtest = await target.start();
    const pid = target.pid!;
    assert.ok(isRunning(pid));
    assert.ok(target.startupMs! > 0);
    assert.equal((await ourTempDirs()).length, before.length + 1);
    // The reset vector as the CPU sees it, just below 4 GiB: our `cli; hlt`.
    assert.equal(await qtest.readw(0xffff_fff0), 0xf4fa);
    await target.close();
    assert.ok(!isRunning(pid));
    assert.ok(qtest.closed);
    assert.deepEqual(await ourTempDirs(), before);
    await target.close(); // a second close is harmless
  });

  it('refuses to start twice', async () => {
    const target = new QemuTarget();
    try {
      await target.start();
      await assert.rejects(target.start(), /already started/);
    } finally {
      await target.close();
    }
  });

  it('reports a QEMU that exits at start-up, with its stderr, and cleans up', async () => {
    const before = await ourTempDirs();
    const target = new QemuTarget({ extraArgs: ['-device', 'no-such-device'] });
    // QEMU connects to the qtest socket before it parses -device, so this fails the handshake.
    await assert.rejects(
      target.start(),
      /^Error: qemu \(qemu-system-x86_64\): .*exited with code 1; its output:\n.*'no-such-device' is not a valid device model name$/,
    );
    assert.deepEqual(await ourTempDirs(), before);
  });

  it('reports a QEMU that exits before connecting', async () => {
    const target = new QemuTarget({ extraArgs: ['-M', 'no-such-machine'] });
    await assert.rejects(
      target.start(),
      /^Error: qemu \(qemu-system-x86_64\) exited with code 1 before connecting; its output:\nqemu-system-x86_64: unsupported machine type/,
    );
  });

  it('reports a QEMU binary that cannot be run', async () => {
    const target = new QemuTarget({ binary: 'no-such-qemu-binary' });
    await assert.rejects(target.start(), /no-such-qemu-binary.*No such file or directory|ENOENT/s);
  });

  it('takes QEMU down with the test process even when that is killed outright', async function () {
    if (process.platform !== 'linux') this.skip();
    const before = await ourTempDirs();
    const qemuModule = new URL('../targets/qemu.js', import.meta.url).href;
    const script = `
      const { QemuTarget } = await import(${JSON.stringify(qemuModule)});
      const target = new QemuTarget();
      await target.start();
      console.log(target.pid);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const qemuPid = Number(line.toString().trim());
    assert.ok(isRunning(qemuPid));
    child.kill('SIGKILL');
    await once(child, 'exit');
    // QEMU is re-parented once we kill its parent, and whoever adopts it may be slow to reap it.
    for (let attempt = 0; attempt < 100 && (await isAliveNotZombie(qemuPid)); attempt++) {
      await sleep(10);
    }
    assert.ok(!(await isAliveNotZombie(qemuPid)), 'QEMU outlived its parent');
    // The killed process could not remove its temp dir; do it for it.
    const leftover = (await ourTempDirs()).filter((name) => !before.includes(name));
    await Promise.all(leftover.map((name) => rm(join(tmpdir(), name), { recursive: true })));
  });
});

describe('socket target', () => {
  it('parses and formats unix: and tcp: addresses', () => {
    assert.deepEqual(parseSocketAddress('unix:/run/dev.sock'), {
      kind: 'unix',
      path: '/run/dev.sock',
    });
    assert.deepEqual(parseSocketAddress('tcp:localhost:4444'), {
      kind: 'tcp',
      host: 'localhost',
      port: 4444,
    });
    assert.deepEqual(parseSocketAddress('tcp:[::1]:4444'), {
      kind: 'tcp',
      host: '::1',
      port: 4444,
    });
    assert.equal(formatSocketAddress({ kind: 'tcp', host: '::1', port: 4444 }), 'tcp:[::1]:4444');
    for (const bad of ['unix:', 'tcp:host', 'tcp:host:0', 'tcp:host:70000', 'http://x', '']) {
      assert.throws(() => parseSocketAddress(bad), /expected unix:PATH or tcp:HOST:PORT/, bad);
    }
  });

  for (const kind of ['unix', 'tcp'] as const) {
    it(`drives a QEMU that listens on ${kind}:`, async () => {
      const qemu = await startListeningQemu(kind);
      const target = new SocketTarget(qemu.address);
      try {
        const qtest = await target.start();
        assert.equal(target.description, formatSocketAddress(qemu.address));
        await qtest.outl(0xcf8, 0x8000_0000);
        assert.equal(await qtest.inl(0xcfc), 0x29c0_8086);
      } finally {
        await target.close();
        await qemu.stop();
      }
    });
  }

  it('says which address refused the connection', async () => {
    const target = new SocketTarget('unix:/nonexistent/viommu.sock');
    await assert.rejects(target.start(), /^Error: unix:\/nonexistent\/viommu.sock: connect ENOENT/);
  });

  it('reports a device that hangs up, naming the address', async () => {
    const qemu = await startListeningQemu('unix');
    const target = new SocketTarget(qemu.address);
    try {
      const qtest = await target.start();
      await qemu.stop();
      await assert.rejects(qtest.readl(0), /connection closed: unix:.* closed the connection/);
    } finally {
      await target.close();
      await qemu.stop();
    }
  });
});
