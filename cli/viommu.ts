#!/usr/bin/env node
// The `viommu` command: one binary, one subcommand per job. Each job's module is imported
// only when it runs, so a short job (`viommu device`, spawned once per conformance test) does
// not pay for loading the others.

import { Command } from 'commander';
import { toolVersion } from './version.js';

const program = new Command('viommu')
  .description(
    'The virtio-iommu specification as data: build, generate, check drift, run conformance',
  )
  .version(toolVersion)
  // `viommu --version` is the tool's; after a subcommand, `--version V` names a spec version.
  .enablePositionalOptions();

const specOptions = (cmd: Command): Command =>
  cmd
    .option('--spec <dir>', 'folder of the spec Markdown (default: the bundled spec-src/)')
    .option('--out <dir>', 'folder that receives dist/ (default: the package folder)')
    .option(
      '--version <name>',
      'a version of spec-src/versions/ (v0.4 … v0.12-2019) or current (default); a historic one is written only with --out',
    )
    .option(
      '--drafts',
      'the current spec with its drafts (files with a "Status: draft" line), written under dist/drafts/',
    );

specOptions(
  program.command('build').description('parse spec-src/ into dist/spec.json and dist/cases.json'),
).action(async (opts) => {
  const { runBuild } = await import('./commands/build.js');
  process.exitCode = runBuild(opts);
});

specOptions(
  program
    .command('gen')
    .description(
      'generate dist/: spec.json, cases.json, the UAPI header, its layout test, dist/ts',
    ),
)
  .option(
    '--profile <name>',
    'print the UAPI header of a profile (generator/profiles/NAME.json) instead',
  )
  .option('-o, --output <file>', 'with --profile: write the header to this file')
  .action(async (opts) => {
    const { runGen } = await import('./commands/gen.js');
    process.exitCode = await runGen(opts);
  });

specOptions(
  program
    .command('check')
    .description('fail, naming each file, when dist/ differs from what spec-src gives'),
).action(async (opts) => {
  const { runCheck } = await import('./commands/check.js');
  process.exitCode = await runCheck(opts);
});

program
  .command('render')
  .description(
    'write the spec document (HTML, PDF with Chromium) with coverage, and the conformance matrix',
  )
  .option('--spec <dir>', 'folder of the spec Markdown (default: the bundled spec-src/)')
  .option('--out <dir>', 'folder for spec.html, spec.pdf and matrix.html (default: reports/)')
  .option(
    '--results <report...>',
    'conformance reports (schemas/conformance-report.schema.json), one per target',
  )
  .option(
    '--suite <dir>',
    'conformance tests to read statement tags from (default: conformance/suite/)',
  )
  .option('--no-pdf', 'do not print spec.pdf')
  .option('--drafts', 'include the drafts, each statement and struct with a draft badge')
  .action(async (opts) => {
    const { runRender } = await import('./commands/render.js');
    process.exitCode = await runRender(opts);
  });

// device-ref parses its own options (it also runs on its own); pass every word through.
program
  .command('device')
  .description(
    'serve the reference virtio-iommu device over qtest (viommu device --help for options)',
  )
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async (_opts, cmd: Command) => {
    const { runDeviceCommand } = await import('../device-ref/cli.js');
    process.exitCode = await runDeviceCommand(cmd.args);
  });

program
  .command('drift')
  .description(
    'compare a C header with the spec: names, values, field types and the ABI measured by the C compiler',
  )
  .argument('[header]', 'the header to check (default: /usr/include/linux/virtio_iommu.h)')
  .option('--spec <dir>', 'folder of the spec Markdown (default: the bundled spec-src/)')
  .option('--profile <name>', 'compare with a profile of the spec (generator/profiles/NAME.json)')
  .option(
    '--allow-list <file>',
    'accepted differences, each with a reason (default: generator/drift/allow-list.json)',
  )
  .option('--no-allow-list', 'report every difference as drift')
  .option(
    '--cc <compiler>',
    'C compiler for the ABI probe, a cross compiler for another architecture (default: $CC, else cc)',
  )
  .option('--json', 'print the report as JSON')
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (header: string | undefined, opts) => {
    const { runDrift } = await import('./commands/drift.js');
    process.exitCode = await runDrift(header, opts);
  });

program
  .command('diff')
  .description(
    'what changed between two specs: ABI (sizes, offsets, types, renames, constants, feature bits) and statements',
  )
  .argument(
    '<a>',
    'a version (v0.4 … v0.12-2019, current), a folder of spec Markdown or a git revision',
  )
  .argument('<b>', 'the same, for the newer side')
  .option('--json', 'print the changes as JSON')
  .option('--drafts', 'build both specs with their drafts (a promotion shows as draft → spec)')
  .action(async (a: string, b: string, opts) => {
    const { runDiff } = await import('./commands/diff.js');
    process.exitCode = runDiff(a, b, opts);
  });

program
  .command('conform')
  .description('run the conformance suite against a device and write its reports and the matrix')
  .requiredOption('--target <target>', 'ref (device-ref), qemu, unix:PATH or tcp:HOST:PORT')
  .option('--qemu <path>', 'the QEMU binary for --target qemu (default: qemu-system-x86_64)')
  .option(
    '--qemu-arg <arg>',
    'one more QEMU argument for --target qemu (repeat it)',
    (arg: string, args: string[]) => [...args, arg],
    [],
  )
  .option(
    '--board <board>',
    'device-ref board for --target ref: a preset or a JSON file (default: q35 with two edu endpoints)',
  )
  .option(
    '--judge-window <window>',
    'memory the DMA judge compares after each device write: all-ram (default for ref on a board of up to 16 MiB of RAM) or near (@ram ± 1 MiB and guard zones; default elsewhere)',
  )
  .option('--strict', 'a failed SHOULD fails the run too')
  .option('--reports <dir>', 'folder for the JSON, JUnit and HTML reports (default: reports/)')
  .option('--only <prefix>', 'run only the tests of statements whose ID starts with this')
  .option('--no-probes', 'skip the robustness probes')
  .option(
    '--drafts',
    "judge the drafts' device statements too, each only where the device offers its draft's feature",
  )
  .option(
    '--time-limit <duration>',
    'stop the whole run after this long (90, 90s, 10m, 1h); what did not run is an error',
  )
  .option(
    '--test-timeout <duration>',
    'longest one test may take before it is a hang (default 60s)',
  )
  .action(async (opts) => {
    const { runConform } = await import('./commands/conform.js');
    process.exitCode = await runConform(opts);
  });

program
  .command('driver-check')
  .description(
    "boot a Linux guest under QEMU, capture its virtio-iommu driver's requests and judge every driver statement",
  )
  .option(
    '--kernel <kernel>',
    "debian-6.12 (Debian's linux-image-6.12-amd64) or the path of a bzImage",
    'debian-6.12',
  )
  .option(
    '--modules <dir>',
    'with --kernel PATH: the folder holding virtio-iommu.ko and virtio_blk.ko',
  )
  .option('--mode <mode>', 'strict, lazy, passthrough or all', 'strict')
  .option(
    '--save-log <file>',
    'keep the event log (JSON lines; with --mode all, one file per mode)',
  )
  .option('--from-log <file>', 'judge a saved event log instead of booting a guest')
  .option('--qemu <path>', 'the QEMU binary', 'qemu-system-x86_64')
  .option('--timeout <seconds>', 'time limit of each boot', '180')
  .option('--reports <dir>', 'folder for the JSON, JUnit and HTML reports (default: reports/)')
  .option('--fetch', 'only fetch and cache the kernel, then stop')
  .action(async (opts) => {
    const { runDriverCheckCommand } = await import('./commands/driver-check.js');
    process.exitCode = await runDriverCheckCommand(opts);
  });

program
  .command('main')
  .description(
    'build, check dist/, check drift of the system header, run conformance against device-ref, print the matrix',
  )
  .action(async () => {
    const { runMain } = await import('./commands/main.js');
    process.exitCode = await runMain();
  });

await program.parseAsync();
