// `viommu main` (npm start): build the model, check dist/ against it, check the system's UAPI
// header for drift, run the conformance suite against device-ref, print the verdicts, and say
// where the reports are.

import { relative } from 'node:path';
import { runBuild } from './build.js';
import { runCheck } from './check.js';
import { conform } from './conform.js';
import { runDrift } from './drift.js';

export async function runMain(): Promise<number> {
  process.stdout.write('== build\n');
  if (runBuild({}) !== 0) return 1;
  process.stdout.write('== gen check\n');
  if ((await runCheck({})) !== 0) return 1;
  process.stdout.write('== drift against the system header\n');
  const drift = await runDrift(undefined, {});
  if (drift === 2) process.stdout.write('  (drift could not be checked; see above)\n');
  process.stdout.write('== conformance against device-ref\n');
  const { code, written } = await conform({ target: 'ref' });
  process.stdout.write('== reports\n');
  for (const path of written) process.stdout.write(`  ${relative(process.cwd(), path) || path}\n`);
  return code !== 0 ? code : drift === 1 ? 1 : 0;
}
