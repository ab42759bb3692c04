#!/usr/bin/env node
// The `viommu` command: one binary, one subcommand per job.

import { Command } from 'commander';
import { runBuild } from './commands/build.js';
import { toolVersion } from './version.js';

const program = new Command('viommu')
  .description('The virtio-iommu specification as data: build, generate, check drift, run conformance')
  .version(toolVersion);

const specOptions = (cmd: Command): Command =>
  cmd
    .option('--spec <dir>', 'folder of the spec Markdown (default: the bundled spec-src/)')
    .option('--out <dir>', 'folder that receives dist/ (default: the package folder)');

specOptions(program.command('build').description('parse spec-src/ into dist/spec.json and dist/cases.json')).action(
  (opts) => {
    process.exitCode = runBuild(opts);
  },
);

await program.parseAsync();
