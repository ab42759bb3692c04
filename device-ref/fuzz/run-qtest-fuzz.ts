// Layer: cli.
// `npm run fuzz:qtest -- [--lines N] [--clients N] [--seed N]`: the qtest fuzz run of
// qtest-fuzz.ts against `viommu device`, by hand (npm test runs a small one). Prints the
// report; exits 1 on a crash, a hang or a bad reply.

import { parseArgs } from 'node:util';
import { runQtestFuzz } from './qtest-fuzz.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
  },
});
const report = await runQtestFuzz({
  lines: Number(values.lines),
  clients: Number(values.clients),
  seed: Number(values.seed),
  log: (message) => process.stderr.write(`${message}\n`),
});
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exitCode =
  report.crash !== undefined || report.hang !== undefined || report.badReplies.length > 0 ? 1 : 0;
