// `npm run bench`: runs every benchmark of build/bench/ (*.bench.js), one process each so
// that one's JIT state does not colour the next. Benchmarks are never tests: they print.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((n) => n.endsWith('.bench.js'))
  .sort();
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  // --expose-gc: a benchmark may collect garbage between runs, so that one run's garbage is
  // not billed to the next.
  const run = spawnSync(process.execPath, ['--expose-gc', join(here, file)], { stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
