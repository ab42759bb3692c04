// The launcher process (launcher.ts says why there is one): it starts device processes for the
// suite and tells it what they print and how they end. One request per line on stdin, one
// event per line on stdout, both JSON (launcher-protocol.ts). When stdin ends or stdout breaks,
// the suite is gone: it kills what it started and exits. It is itself started with a
// parent-death signal, and starts each process with one, so nothing it started outlives the
// suite even if it cannot run to see its stdin end.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseRequest, type LauncherEvent, type LauncherRequest } from './launcher-protocol.js';

const children = new Map<number, ChildProcess>();

function send(event: LauncherEvent): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function launch({ id, command, args, env, cwd }: LauncherRequest & { op: 'launch' }): void {
  const options = { stdio: PIPES, env, cwd };
  let child: ChildProcess;
  try {
    child =
      process.platform === 'linux'
        ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], options)
        : spawn(command, args, options);
  } catch (error) {
    // An argument spawn refuses outright (a NUL byte in it): that launch fails, nothing else.
    send({ id, error: (error as Error).message });
    return;
  }
  children.set(id, child);
  if (child.pid !== undefined) send({ id, pid: child.pid });
  const relay = (chunk: Buffer): void => send({ id, output: chunk.toString('utf8') });
  child.stdout!.on('data', relay);
  child.stderr!.on('data', relay);
  // A process that cannot be started emits 'error' and then 'close': the first one counts.
  let ended = false;
  child.once('error', (error) => {
    if (ended) return;
    ended = true;
    children.delete(id);
    send({ id, error: error.message });
  });
  // 'close' comes after the exit and after stdout/stderr are drained.
  child.once('close', (code, signal) => {
    if (ended) return;
    ended = true;
    children.delete(id);
    send({ id, exit: { code, signal } });
  });
}

function killAllAndExit(): never {
  for (const child of children.values()) child.kill('SIGKILL');
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const request = parseRequest(line);
    if (request === undefined)
      process.stderr.write(`launcher: ignored a request it cannot read: ${line.slice(0, 200)}\n`);
    else if (request.op === 'launch') launch(request);
    else children.get(request.id)?.kill('SIGKILL');
  })
  .on('close', killAllAndExit);
process.stdout.on('error', killAllAndExit);

const PIPES: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
