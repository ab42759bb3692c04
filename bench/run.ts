// `npm run bench [-- NAME… TARGET…]`: runs the benchmarks (*.bench.js of build/bench/), one
// process each so that one's JIT state does not colour the
// next. A NAME keeps only the benchmarks whose file name contains it (`device` runs
// device-core and device-socket); a TARGET (`ref`, `qemu`) is passed on, and the device
// benchmarks then measure only it. Benchmarks are never tests: they print.
// SIGINT/SIGTERM are passed on to the benchmark that runs, which closes its devices and
// dies; then so do we, of the same signal.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_TARGETS } from './targets.js';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((name) => name.endsWith('.bench.js'))
  .sort()
  .map((name) => join(here, name));
const args = process.argv.slice(2);
const targets = args.filter((arg) => BENCH_TARGETS.includes(arg));
const names = args.filter((arg) => !BENCH_TARGETS.includes(arg));
const files = all.filter(
  (file) => names.length === 0 || names.some((name) => basename(file).includes(name)),
);
if (files.length === 0) {
  const known = all.map((file) => basename(file, '.bench.js')).join(', ');
  process.stderr.write(
    `npm run bench: no benchmark matches ${names.join(', ')}; there are ${known}\n`,
  );
  process.exit(2);
}

let failed = 0;
let interrupted: NodeJS.Signals | undefined;
for (const file of files) {
  process.stdout.write(`\n== ${basename(file)}\n`);
  // --expose-gc: a benchmark may collect garbage between runs, so that one run's garbage is
  // not billed to the next.
  const child = spawn(process.execPath, ['--expose-gc', file, ...targets], { stdio: 'inherit' });
  const passOn = (signal: NodeJS.Signals): void => {
    interrupted = signal;
    child.kill(signal);
  };
  process.on('SIGINT', passOn).on('SIGTERM', passOn);
  const [code] = (await once(child, 'exit')) as [number | null];
  process.off('SIGINT', passOn).off('SIGTERM', passOn);
  if (interrupted !== undefined) {
    process.kill(process.pid, interrupted);
    break;
  }
  if (code !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
