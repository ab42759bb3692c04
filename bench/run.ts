// `npm run bench`: runs every benchmark of build/bench/ (*.bench.js), one process each so
// that one's JIT state does not colour the next. Benchmarks are never tests: they print.
// SIGINT/SIGTERM are passed on to the benchmark that runs, which closes its devices and
// dies; then so do we, of the same signal.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((n) => n.endsWith('.bench.js'))
  .sort();
let failed = 0;
let interrupted: NodeJS.Signals | undefined;
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  // --expose-gc: a benchmark may collect garbage between runs, so that one run's garbage is
  // not billed to the next.
  const child = spawn(process.execPath, ['--expose-gc', join(here, file)], { stdio: 'inherit' });
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
