import type { QtestClient } from '../qtest/client.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildHaltFirmware, HALT_FIRMWARE_SIZE } from '../targets/firmware.js';
import { sharedLauncher } from '../targets/launcher.js';
import { QemuTarget } from '../targets/qemu.js';
import { ALL_RAM_WINDOW_MAX, RefServer, RefServerPool, RefTarget } from '../targets/ref.js';
import { selectTarget } from '../targets/select.js';
import { formatSocketAddress, parseSocketAddress, SocketTarget } from '../targets/socket.js';
import { startListeningQemu } from './support/listening-qemu.js';
import { usePrivateTmpdir } from './support/private-tmpdir.js';

async function ourTempDirs(prefix = 'viommu-qemu-'): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith(prefix));
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
  usePrivateTmpdir('viommu-targets-test-');

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

  it('leaves no temp dir and no QEMU when closed while it starts', async () => {
    const before = await ourTempDirs();
    // Closed at once (its temp dir not made yet), and once QEMU runs but has not connected.
    const moments = [
      async () => undefined,
      async (target: QemuTarget) => {
        while (target.pid === undefined) await sleep(1);
      },
    ];
    for (const moment of moments) {
      const target = new QemuTarget();
      const starting = target.start();
      await moment(target);
      const pid = target.pid;
      await target.close();
      await assert.rejects(starting);
      assert.deepEqual(await ourTempDirs(), before);
      if (pid !== undefined) assert.ok(!(await isAliveNotZombie(pid)), 'QEMU is gone');
    }
  });

  it('starts QEMU through the shared launcher, its pid known once start() resolves', async () => {
    const target = new QemuTarget();
    try {
      await target.start();
      const stat = await readFile(`/proc/${target.pid!}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      assert.equal(parent, sharedLauncher().pid);
    } finally {
      await target.close();
    }
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
      /^TargetUnreachableError: qemu \(qemu-system-x86_64\): .*exited with code 1; its output:\n.*'no-such-device' is not a valid device model name$/,
    );
    assert.deepEqual(await ourTempDirs(), before);
  });

  it('reports a QEMU that exits before connecting', async () => {
    const target = new QemuTarget({ extraArgs: ['-M', 'no-such-machine'] });
    await assert.rejects(
      target.start(),
      /^TargetUnreachableError: qemu \(qemu-system-x86_64\) exited with code 1 before connecting; its output:\nqemu-system-x86_64: unsupported machine type/,
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

describe('ref target', () => {
  usePrivateTmpdir('viommu-targets-test-');
  const RAM_WORD = 0x10_0000;

  it('serves every test from one device-ref, each on a fresh board', async () => {
    const server = new RefServer();
    try {
      const first = new RefTarget(server);
      const qtest = await first.start();
      const pid = server.pid!;
      assert.ok(isRunning(pid));
      await qtest.writel(RAM_WORD, 0x1234_5678);
      assert.equal(await qtest.readl(RAM_WORD), 0x1234_5678);
      await first.close();
      assert.ok(qtest.closed);

      const second = new RefTarget(server);
      const again = await second.start();
      assert.equal(await again.readl(RAM_WORD), 0, 'RAM written by the previous test');
      assert.equal(server.pid, pid);
      await second.close();
    } finally {
      await server.close();
    }
  });

  it('starts a new device-ref after a crash, which fails only the test it ends', async () => {
    const server = new RefServer();
    try {
      const crashed = new RefTarget(server);
      const qtest = await crashed.start();
      const pid = server.pid!;
      process.kill(pid, 'SIGKILL');
      await assert.rejects(
        qtest.readl(RAM_WORD),
        /connection closed: device-ref was killed by SIGKILL/,
      );
      await crashed.close();

      const next = new RefTarget(server);
      const again = await next.start();
      assert.notEqual(server.pid, pid);
      assert.equal(await again.readl(RAM_WORD), 0);
      await next.close();
    } finally {
      await server.close();
    }
  });

  it('starts a new device-ref when the running one no longer answers', async () => {
    const server = new RefServer({ replyTimeoutMs: 300 });
    let stuck: number | undefined;
    try {
      const hung = new RefTarget(server);
      const qtest = await hung.start();
      stuck = server.pid!;
      process.kill(stuck, 'SIGSTOP');
      await assert.rejects(qtest.readl(RAM_WORD), /no reply within 300 ms/);
      await hung.close();

      const next = new RefTarget(server);
      const again = await next.start();
      assert.notEqual(server.pid, stuck);
      assert.ok(!(await isAliveNotZombie(stuck)), 'the stuck device-ref is still there');
      assert.equal(await again.readl(RAM_WORD), 0);
      await next.close();
    } finally {
      await server.close();
      if (stuck !== undefined && isRunning(stuck)) process.kill(stuck, 'SIGKILL');
    }
  });

  it('watches all RAM by default on a small board, and only near @ram on a 256 MiB one', () => {
    assert.equal(new RefTarget(new RefServer()).judgeWindow, 'all-ram');
    const narrow = new RefServer({ board: 'narrow' });
    assert.equal(narrow.ramSize, 0x1000_0000);
    assert.ok(narrow.ramSize > ALL_RAM_WINDOW_MAX);
    assert.equal(new RefTarget(narrow).judgeWindow, 'near');
    assert.equal(new RefTarget(narrow, 'all-ram').judgeWindow, 'all-ram');
  });

  it('close() stops device-ref and removes its temp dir; later connections are refused', async () => {
    const before = await ourTempDirs('viommu-ref-');
    const server = new RefServer();
    await new RefTarget(server).start();
    const pid = server.pid!;
    assert.equal((await ourTempDirs('viommu-ref-')).length, before.length + 1);
    await server.close();
    assert.ok(!isRunning(pid));
    assert.deepEqual(await ourTempDirs('viommu-ref-'), before);
    await assert.rejects(new RefTarget(server).start(), /already closed/);
    await server.close(); // a second close is harmless
  });

  it('a pool serves as many tests at once as it has device-refs, each on a process no other open one uses', async () => {
    const before = await ourTempDirs('viommu-ref-');
    const pool = new RefServerPool(2);
    try {
      const [a, b] = [pool.target(), pool.target()];
      assert.throws(() => pool.target(), /all 2 device-refs serve a test/);
      // One device-ref serves one connection at a time: both answer only on two processes.
      const [qa, qb] = await Promise.all([a.start(), b.start()]);
      await Promise.all([qa.writel(RAM_WORD, 0xaaaa), qb.writel(RAM_WORD, 0xbbbb)]);
      assert.deepEqual(
        await Promise.all([qa.readl(RAM_WORD), qb.readl(RAM_WORD)]),
        [0xaaaa, 0xbbbb],
      );
      assert.equal((await ourTempDirs('viommu-ref-')).length, before.length + 2);
      await a.close();
      const c = pool.target(); // the process `a` used, free again, with a fresh board
      assert.equal(await (await c.start()).readl(RAM_WORD), 0);
      await Promise.all([b.close(), c.close()]);
    } finally {
      await pool.close();
    }
    assert.deepEqual(await ourTempDirs('viommu-ref-'), before);
  });

  it('reports a device-ref that cannot start, with what it printed', async () => {
    const server = new RefServer({ board: '/nonexistent/board.json' });
    try {
      await assert.rejects(
        new RefTarget(server).start(),
        /^TargetUnreachableError: device-ref \(board \/nonexistent\/board.json\) exited with code 1 before listening; its output:\n.*ENOENT/s,
      );
    } finally {
      await server.close();
    }
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
    await assert.rejects(
      target.start(),
      /^TargetUnreachableError: unix:\/nonexistent\/viommu.sock: connect ENOENT/,
    );
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

describe('target selection', () => {
  it('refuses an option that does not apply to the chosen target, saying what to do', () => {
    assert.throws(
      () => selectTarget({ target: 'qemu', board: 'q35' }),
      /^Error: --board applies to --target ref only \(the target is qemu\); drop it or change --target$/,
    );
    assert.throws(
      () => selectTarget({ target: 'ref', qemu: 'qemu-system-x86_64', qemuArgs: ['-s'] }),
      /--qemu applies to --target qemu only; --qemu-arg applies to --target qemu only/,
    );
    assert.throws(
      () => selectTarget({ target: 'unix:/run/x.sock', qemuArgs: ['-s'] }),
      /--qemu-arg/,
    );
  });

  it('gives each test of a ref run a target of its own; close() ends the run', async () => {
    const selected = selectTarget({ target: 'ref' });
    const first = selected.make();
    const second = selected.make();
    assert.notEqual(first, second);
    assert.equal(first.chipset, 'q35', "the suite's board has q35's host bridge and 0xcf9");
    try {
      await first.start();
      await first.close();
      await second.start();
      await second.close();
    } finally {
      await selected.close();
    }
    await assert.rejects(selected.make().start(), /already closed/);
  });
});

describe('target selection: qemu', () => {
  usePrivateTmpdir('viommu-targets-test-');

  it('gives each test of a qemu run a fresh QEMU, started ahead; close() leaves none behind', async () => {
    const before = await ourTempDirs();
    const selected = selectTarget({ target: 'qemu' });
    let qtest: QtestClient | undefined;
    try {
      const first = selected.make();
      assert.equal(first.chipset, 'q35', 'a QEMU of the reserve says what QemuTarget says');
      qtest = await first.start();
      await assert.rejects(first.start(), /already started/);
      await qtest.writel(0x1000, 0xdead_beef);
      await first.close();
      const second = selected.make();
      const next = await second.start();
      assert.notEqual(next, qtest);
      assert.equal(await next.readl(0x1000), 0, 'a QEMU no test used before');
      await second.close();
    } finally {
      await selected.close();
    }
    assert.ok(qtest?.closed, 'the first QEMU is gone');
    assert.deepEqual(await ourTempDirs(), before);
    await assert.rejects(selected.make().start(), /already closed/);
  });
});
