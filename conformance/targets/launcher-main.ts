// The launcher process (launcher.ts says why there is one): it starts device processes for the
// suite and tells it what they print and how they end. One request per line on stdin, one
// event per line on stdout, both JSON (launcher-protocol.ts). When stdin ends, the suite is
// gone: it kills what it started and exits. It is itself started with a parent-death signal,
// and starts each process with one, so nothing it started outlives the suite.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseRequest, type LauncherEvent } from './launcher-protocol.js';

const children = new Map<number, ChildProcess>();

function send(event: LauncherEvent): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function launch(id: number, command: string, args: readonly string[]): void {
  const child =
    process.platform === 'linux'
      ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], { stdio: PIPES })
      : spawn(command, args, { stdio: PIPES });
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

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const request = parseRequest(line);
    if (request === undefined) {
      process.stderr.write(`launcher: ignored a request it cannot read: ${line.slice(0, 200)}\n`);
    } else if ('launch' in request) {
      launch(request.launch, request.command, request.args);
    } else {
      children.get(request.kill)?.kill('SIGKILL');
    }
  })
  .on('close', () => {
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(0);
  });

const PIPES: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
