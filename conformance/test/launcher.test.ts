// The launcher process starts device processes for the suite (targets/launcher.ts): what they
// print, their pid and their end come back; a kill reaches them; nothing it started outlives
// it, and it holds the suite's event loop only while something it started runs.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Launcher, type LaunchHandlers } from '../targets/launcher.js';
import { parseEvent, parseRequest } from '../targets/launcher-protocol.js';
import { isAlive } from './support/process-tree.js';

/** The launcher's program, for the tests that talk its protocol themselves. */
const LAUNCHER_MAIN = fileURLToPath(new URL('../targets/launcher-main.js', import.meta.url));

interface Watched {
  pid: Promise<number>;
  ended: Promise<string>;
  lost: () => boolean;
  output: () => string;
}

function watch(): { handlers: LaunchHandlers; watched: Watched } {
  let output = '';
  let lost = false;
  let spawned!: (pid: number) => void;
  let ended!: (status: string) => void;
  const watched: Watched = {
    pid: new Promise((resolve) => (spawned = resolve)),
    ended: new Promise((resolve) => (ended = resolve)),
    lost: () => lost,
    output: () => output,
  };
  const handlers: LaunchHandlers = {
    spawned: (pid) => spawned(pid),
    output: (text) => (output += text),
    ended: (status, byLauncher) => {
      lost = byLauncher;
      ended(status);
    },
  };
  return { handlers, watched };
}

/** Waits up to 2 s for a process to be gone (a re-parented one may be reaped late). */
async function gone(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 200 && (await isAlive(pid)); attempt++) await sleep(10);
  return !(await isAlive(pid));
}

/** Kills a process the test started, if it is still there (a failed test leaves none). */
function cleanUp(pid: number | undefined): void {
  try {
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Resolves with `promise`, or rejects after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('launcher', function () {
  this.timeout(20_000);
  let launcher: Launcher;
  beforeEach(() => (launcher = new Launcher()));
  afterEach(async () => {
    const pid = launcher.pid;
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  });

  it('passes on the pid, what the process prints, and how it exits', async () => {
    const { handlers, watched } = watch();
    launcher.launch('sh', ['-c', 'echo to-stdout; echo to-stderr >&2; exit 3'], handlers);
    const pid = await watched.pid;
    assert.ok(Number.isSafeInteger(pid) && pid > 0);
    assert.equal(await watched.ended, 'exited with code 3');
    assert.equal(watched.lost(), false);
    assert.match(watched.output(), /to-stdout/);
    assert.match(watched.output(), /to-stderr/);
  });

  it("starts it with this process's environment and working directory of the moment", async () => {
    const was = process.env.VIOMMU_LAUNCHER_TEST;
    // The launcher is started by the first launch; the second one must not see its start's.
    const first = watch();
    launcher.launch('true', [], first.handlers);
    await first.watched.ended;
    process.env.VIOMMU_LAUNCHER_TEST = 'now';
    try {
      const { handlers, watched } = watch();
      launcher.launch('sh', ['-c', 'echo "$VIOMMU_LAUNCHER_TEST $PWD"'], handlers);
      assert.equal(await watched.ended, 'exited with code 0');
      assert.equal(watched.output().trim(), `now ${process.cwd()}`);
    } finally {
      if (was === undefined) delete process.env.VIOMMU_LAUNCHER_TEST;
      else process.env.VIOMMU_LAUNCHER_TEST = was;
    }
  });

  it('kills the process on request, also before its pid is known; a kill after its end is harmless', async () => {
    const { handlers, watched } = watch();
    const launched = launcher.launch('sleep', ['30'], handlers);
    const pid = await watched.pid;
    try {
      assert.ok(await isAlive(pid));
      launched.kill();
      assert.equal(await within(watched.ended, 5000, 'the end'), 'was killed by SIGKILL');
      assert.ok(await gone(pid));
      launched.kill();
    } finally {
      cleanUp(pid);
    }
    const early = watch();
    launcher.launch('sleep', ['30'], early.handlers).kill();
    const earlyPid = await early.watched.pid;
    try {
      assert.equal(await within(early.watched.ended, 5000, 'the end'), 'was killed by SIGKILL');
    } finally {
      cleanUp(earlyPid);
    }
  });

  it('says when a command cannot be run', async () => {
    const { handlers, watched } = watch();
    launcher.launch('no-such-command-for-the-launcher', [], handlers);
    // On Linux setpriv starts and fails to exec it; elsewhere spawn fails.
    assert.match(await watched.ended, /exited with code 127|could not be started: .*ENOENT/);
    if (process.platform === 'linux') assert.match(watched.output(), /No such file or directory/);
  });

  it('tells each owner when the launcher dies, takes its processes along, and starts anew', async () => {
    const { handlers, watched } = watch();
    launcher.launch('sleep', ['30'], handlers);
    const sleeper = await watched.pid;
    const first = launcher.pid!;
    try {
      process.kill(first, 'SIGKILL');
      assert.equal(
        await within(watched.ended, 5000, 'the end'),
        'was lost: the process launcher was killed by SIGKILL',
      );
      assert.equal(watched.lost(), true);
      assert.ok(await gone(sleeper), 'the process outlived its launcher');
    } finally {
      cleanUp(sleeper);
    }
    const next = watch();
    launcher.launch('true', [], next.handlers);
    assert.equal(await next.watched.ended, 'exited with code 0');
    assert.notEqual(launcher.pid, first);
  });

  it('keeps the process alive while what it started runs, and no longer', async () => {
    const module = new URL('../targets/launcher.js', import.meta.url).href;
    // Nothing but the launched process keeps this script's event loop going: first the one
    // launched at once, then the one launched once the first has ended.
    const script = `
      const { sharedLauncher } = await import(${JSON.stringify(module)});
      const launch = (seconds, then) =>
        sharedLauncher().launch('sh', ['-c', 'sleep ' + seconds], {
          spawned: () => console.log('launcher ' + sharedLauncher().pid),
          output: () => {},
          ended: (status) => {
            console.log('ended: ' + status);
            then();
          },
        });
      launch(0.1, () => setImmediate(() => launch(0.3, () => {})));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let printed = '';
    child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const [code] = (await within(once(child, 'exit'), 10_000, 'the script')) as [number];
    assert.equal(code, 0);
    assert.equal((printed.match(/ended: exited with code 0/g) ?? []).length, 2, printed);
    const helper = Number(/launcher (\d+)/.exec(printed)?.[1]);
    assert.ok(await gone(helper), 'the launcher outlived the script');
  });

  it('fails only the launch spawn refuses outright', async () => {
    const { handlers, watched } = watch();
    launcher.launch('sleep', ['30'], handlers);
    const pid = await watched.pid;
    try {
      const refused = watch();
      launcher.launch('sleep', ['1\0'], refused.handlers);
      assert.match(await refused.watched.ended, /^could not be started: .*null bytes/);
      assert.ok(await isAlive(pid), 'the other process still runs');
    } finally {
      cleanUp(pid);
    }
  });

  it('ignores a request it cannot read and serves the next', async () => {
    const helper = spawn(process.execPath, [LAUNCHER_MAIN], { stdio: ['pipe', 'pipe', 'pipe'] });
    let events = '';
    let complaints = '';
    helper.stdout!.on('data', (chunk: Buffer) => (events += chunk.toString()));
    helper.stderr!.on('data', (chunk: Buffer) => (complaints += chunk.toString()));
    helper.stdin!.write('not json\n{"op": "launch", "id": "x", "command": 1}\n');
    const launch = { op: 'launch', id: 7, command: 'true', args: [], env: {}, cwd: '/' };
    helper.stdin!.write(JSON.stringify(launch) + '\n');
    for (let attempt = 0; attempt < 500 && !events.includes('"exit"'); attempt++) await sleep(10);
    helper.stdin!.end();
    await once(helper, 'exit');
    const parsed = events.trim().split('\n').map(parseEvent);
    assert.deepEqual(parsed.at(-1), { id: 7, exit: { code: 0, signal: null } });
    assert.ok(parsed.every((event) => event?.id === 7));
    assert.equal((complaints.match(/ignored a request/g) ?? []).length, 2);
  });
});

describe('launcher process', function () {
  this.timeout(20_000);

  it('kills what it started and exits when the suite stops reading its events', async () => {
    const helper = spawn(process.execPath, [LAUNCHER_MAIN], { stdio: ['pipe', 'pipe', 'ignore'] });
    const launch = { op: 'launch', id: 1, command: 'yes', args: [], env: process.env, cwd: '/' };
    helper.stdin!.write(JSON.stringify(launch) + '\n');
    let events = '';
    helper.stdout!.on('data', (chunk: Buffer) => (events += chunk.toString()));
    for (let attempt = 0; attempt < 500 && !events.includes('"output"'); attempt++) await sleep(10);
    const pid = (parseEvent(events.split('\n')[0]!) as { pid: number }).pid;
    try {
      const exited = once(helper, 'exit');
      helper.stdout!.destroy();
      const [code] = (await within(exited, 10_000, 'the launcher')) as [number];
      assert.equal(code, 0);
      assert.ok(await gone(pid), 'what it started is gone');
    } finally {
      cleanUp(pid);
      helper.kill('SIGKILL');
    }
  });
});

describe('launcher protocol', () => {
  it('reads requests and refuses anything else', () => {
    const launch = '"op":"launch","id":1,"command":"qemu"';
    assert.deepEqual(parseRequest(`{${launch},"args":["-m","1"],"env":{"A":"b"},"cwd":"/"}`), {
      op: 'launch',
      id: 1,
      command: 'qemu',
      args: ['-m', '1'],
      env: { A: 'b' },
      cwd: '/',
    });
    assert.deepEqual(parseRequest('{"op":"kill","id":3}'), { op: 'kill', id: 3 });
    for (const line of [
      '',
      'kill 3',
      'null',
      '{"op":"kill","id":"3"}',
      '{"op":"stop","id":3}',
      `{${launch},"env":{},"cwd":"/"}`,
      `{${launch},"args":[1],"env":{},"cwd":"/"}`,
      `{${launch},"args":[],"env":{"A":1},"cwd":"/"}`,
      `{${launch},"args":[],"env":[],"cwd":"/"}`,
      `{${launch},"args":[],"env":{}}`,
      '{"op":"launch","id":1.5,"command":"qemu","args":[],"env":{},"cwd":"/"}',
    ])
      assert.equal(parseRequest(line), undefined, line);
  });

  it('reads events and refuses anything else', () => {
    assert.deepEqual(parseEvent('{"id":1,"pid":42}'), { id: 1, pid: 42 });
    assert.deepEqual(parseEvent('{"id":1,"output":"x"}'), { id: 1, output: 'x' });
    assert.deepEqual(parseEvent('{"id":1,"error":"ENOENT"}'), { id: 1, error: 'ENOENT' });
    assert.deepEqual(parseEvent('{"id":1,"exit":{"code":null,"signal":"SIGKILL"}}'), {
      id: 1,
      exit: { code: null, signal: 'SIGKILL' },
    });
    for (const line of [
      '{"pid":42}',
      '{"id":1}',
      '{"id":1,"exit":{"code":"0","signal":null}}',
      '{"id":1,"exit":{"code":0,"signal":9}}',
      '[1]',
    ])
      assert.equal(parseEvent(line), undefined, line);
  });
});
