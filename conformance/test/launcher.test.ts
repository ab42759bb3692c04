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

interface Watched {
  pid: Promise<number>;
  ended: Promise<string>;
  output: () => string;
}

function watch(): { handlers: LaunchHandlers; watched: Watched } {
  let output = '';
  let spawned!: (pid: number) => void;
  let ended!: (status: string) => void;
  const watched: Watched = {
    pid: new Promise((resolve) => (spawned = resolve)),
    ended: new Promise((resolve) => (ended = resolve)),
    output: () => output,
  };
  const handlers: LaunchHandlers = {
    spawned: (pid) => spawned(pid),
    output: (text) => (output += text),
    ended: (status) => ended(status),
  };
  return { handlers, watched };
}

/** Waits up to 2 s for a process to be gone (a re-parented one may be reaped late). */
async function gone(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 200 && (await isAlive(pid)); attempt++) await sleep(10);
  return !(await isAlive(pid));
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
    assert.match(watched.output(), /to-stdout/);
    assert.match(watched.output(), /to-stderr/);
  });

  it('kills the process on request; a kill after its end is harmless', async () => {
    const { handlers, watched } = watch();
    const launched = launcher.launch('sleep', ['30'], handlers);
    const pid = await watched.pid;
    assert.ok(await isAlive(pid));
    launched.kill();
    assert.equal(await watched.ended, 'was killed by SIGKILL');
    assert.ok(await gone(pid));
    launched.kill();
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
    process.kill(first, 'SIGKILL');
    assert.equal(await watched.ended, 'was lost: the process launcher was killed by SIGKILL');
    assert.ok(await gone(sleeper), 'the process outlived its launcher');
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
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    assert.equal((printed.match(/ended: exited with code 0/g) ?? []).length, 2, printed);
    const helper = Number(/launcher (\d+)/.exec(printed)?.[1]);
    assert.ok(await gone(helper), 'the launcher outlived the script');
  });

  it('ignores a request it cannot read and serves the next', async () => {
    const main = fileURLToPath(new URL('../targets/launcher-main.js', import.meta.url));
    const helper = spawn(process.execPath, [main], { stdio: ['pipe', 'pipe', 'pipe'] });
    let events = '';
    let complaints = '';
    helper.stdout!.on('data', (chunk: Buffer) => (events += chunk.toString()));
    helper.stderr!.on('data', (chunk: Buffer) => (complaints += chunk.toString()));
    helper.stdin!.write('not json\n{"launch": "x", "command": 1}\n');
    helper.stdin!.write(JSON.stringify({ launch: 7, command: 'true', args: [] }) + '\n');
    while (!events.includes('"exit"')) await sleep(10);
    helper.stdin!.end();
    await once(helper, 'exit');
    const parsed = events.trim().split('\n').map(parseEvent);
    assert.deepEqual(parsed.at(-1), { id: 7, exit: { code: 0, signal: null } });
    assert.ok(parsed.every((event) => event?.id === 7));
    assert.equal((complaints.match(/ignored a request/g) ?? []).length, 2);
  });
});

describe('launcher protocol', () => {
  it('reads requests and refuses anything else', () => {
    assert.deepEqual(parseRequest('{"launch":1,"command":"qemu","args":["-m","1"]}'), {
      launch: 1,
      command: 'qemu',
      args: ['-m', '1'],
    });
    assert.deepEqual(parseRequest('{"kill":3}'), { kill: 3 });
    for (const line of [
      '',
      'kill 3',
      'null',
      '{"kill":"3"}',
      '{"launch":1,"command":"qemu"}',
      '{"launch":1,"command":"qemu","args":[1]}',
      '{"launch":1.5,"command":"qemu","args":[]}',
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
