// `npm run mutation`: how strong the conformance suite is. Plants mutants in device-ref's
// IOMMU core, virtio transport, platform and board, one at a time, runs
// `viommu conform --target ref` against each, and judges by the suite alone whether it saw
// the bug (classify.ts). A mutant the suite's board does not show is judged again on each of
// --boards (device-ref presets that reach code the suite's board cannot: the narrow ranges,
// RESERVED regions within edu's reach; and the suite's board with every draft, judged with
// --drafts), against that board's own
// clean run. Prints each mutant as it is judged, then the tally and every survivor; writes
// reports/mutation.json (rewritten after every mutant, so an interrupted run keeps what it
// measured). --again judges an earlier report's survivors once more (again.ts).
// A benchmark-like command: minutes to hours, never part of npm test.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import { packageRoot } from '../package-root.js';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { planAgain, readEarlierRun, type AgainPlan } from './again.js';
import { judge, tally, type Judgement, type MutantStatus } from './classify.js';
import { equivalenceOf, loadEquivalents, mutantKey } from './equivalents.js';
import { applyMutant, findMutants, type Mutant } from './operators.js';
import { sampleOf } from './sample.js';
import { DEFAULT_FILES, mutantsAt, NOT_DEVICE_CODE, sourceFiles } from './select.js';
import { DRAFTS_BOARD, Sandbox } from './sandbox.js';
import { statementsNear } from './statements-near.js';

/**
 * Boards judged besides the suite's own, for the mutants it lets through. multi-resv-msi.json is
 * the multi-resv preset with one endpoint's MSI region within edu's reach (a file, from the
 * package root like the other defaults).
 */
const DEFAULT_BOARDS = ['narrow', 'conformance/mutation/multi-resv-msi.json', DRAFTS_BOARD];
const DEFAULT_EQUIVALENTS = 'conformance/mutation/equivalent-mutants.json';
/** Mutants whose changed behaviour the spec allows (class (b) of SURVIVORS.md), with reasons. */
const DEFAULT_CONFORMING = 'conformance/mutation/conforming-mutants.json';
/** Added to clean time × factor: a loaded machine makes single runs slower. */
const TIMEOUT_SLACK_MS = 5000;

interface Options {
  files: string[];
  sample?: number;
  seed: number;
  concurrency: number;
  timeoutFactor: number;
  equivalents: string;
  conforming: string;
  out: string;
  list?: boolean;
  mutant?: string[];
  again?: string;
  boards: string[];
}

export interface MutantResult {
  file: string;
  line: number;
  /** The trimmed text of that line, by which `--again` finds the mutant after lines moved. */
  lineText?: string;
  column: number;
  mutator: string;
  original: string;
  replacement: string;
  status: MutantStatus;
  /** Statements (or probes) whose verdict turned to fail. */
  failed: string[];
  /** Verdicts that moved without failing. */
  moved: string[];
  /** Statement IDs cited near the mutant in the code. */
  near: string[];
  note?: string;
  equivalentReason?: string;
  /**
   * Its entry in the conforming list: the reason the spec allows what it does. On a
   * `conforming` mutant; on a killed one it says the suite failed a device the list calls
   * conforming (the entry or the test is wrong).
   */
  conformingReason?: string;
  /** The extra board (--boards) whose run killed it; absent when the suite's board did. */
  board?: string;
  durationMs?: number;
  /** Judged in the earlier run `--again` names and not run again (it was killed there). */
  carried?: true;
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
};
const positive = (value: string): number => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a number > 0');
  return n;
};

function describe(
  m: Pick<Mutant, 'file' | 'line' | 'column' | 'mutator' | 'original' | 'replacement'>,
): string {
  const oneLine = (text: string): string => {
    const flat = text.replace(/\s+/g, ' ');
    return flat.length > 70 ? `${flat.slice(0, 67)}...` : flat;
  };
  return `${m.file}:${m.line}:${m.column} ${m.mutator}: \`${oneLine(m.original)}\` → \`${oneLine(m.replacement)}\``;
}

function formatSummary(results: readonly MutantResult[], cleanMs: number, wallMs: number): string {
  const t = tally(results.map((r) => r.status));
  const run = results.filter((r) => r.durationMs !== undefined && r.carried !== true);
  const perMutant = run.reduce((sum, r) => sum + r.durationMs!, 0) / Math.max(1, run.length);
  const lines = [
    '',
    `${t.total} mutants: ${t.killed} killed, ${t.survived} survived, ${t.timeout} timeout, ${t.equivalent} equivalent, ${t.conforming} conforming`,
    `score ${t.score ?? '–'}% of non-equivalent mutants killed (timeouts count as killed, conforming survivors as survivors)`,
    `${t.nonConformingScore ?? '–'}% of the mutants that make the device non-conforming killed (the ${t.conforming} conforming left out: the spec allows what they do)`,
    `clean suite ${(cleanMs / 1000).toFixed(1)} s; ${(perMutant / 1000).toFixed(1)} s per mutant; ${(wallMs / 60000).toFixed(1)} min in all`,
  ];
  const onBoards = results.filter((r) => r.board !== undefined);
  if (onBoards.length > 0) {
    const byBoard = new Map<string, number>();
    for (const r of onBoards) byBoard.set(r.board!, (byBoard.get(r.board!) ?? 0) + 1);
    lines.push(
      `killed on an extra board only: ${[...byBoard].map(([board, n]) => `${n} on ${board}`).join(', ')}`,
    );
  }
  const wronglyListed = results.filter(
    (r) => r.status !== 'conforming' && r.conformingReason !== undefined,
  );
  if (wronglyListed.length > 0) {
    lines.push(
      '',
      'killed, yet listed as conforming (the entry or the test that killed it is wrong):',
    );
    for (const r of wronglyListed) lines.push(`  ${describe(r)}  (${r.failed.join(', ')})`);
  }
  const survivors = results.filter((r) => r.status === 'survived');
  if (survivors.length > 0) {
    lines.push('', 'survivors:');
    for (const r of survivors) {
      const hints = [
        r.near.length > 0 && `near ${r.near.join(', ')}`,
        r.moved.length > 0 && `verdicts moved: ${r.moved.join('; ')}`,
      ].filter(Boolean);
      lines.push(`  ${describe(r)}${hints.length > 0 ? `  (${hints.join('; ')})` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function main(options: Options): Promise<number> {
  const files = await sourceFiles(packageRoot, options.files);
  if (files.length === 0)
    throw new Error(`no device-ref source matches ${options.files.join(' ')}`);
  const sources = new Map<string, string>();
  const everyMutant: Mutant[] = [];
  for (const file of files) {
    const source = await readFile(join(packageRoot, file), 'utf8');
    sources.set(file, source);
    everyMutant.push(...findMutants(file, source));
  }
  const chosen =
    options.mutant === undefined ? everyMutant : mutantsAt(everyMutant, options.mutant);
  let again: AgainPlan | undefined;
  if (options.again !== undefined)
    again = planAgain(
      await readEarlierRun(resolve(options.again)),
      chosen,
      (m) => mutantKey(m, sources.get(m.file)!).line,
    );
  const mutants =
    again?.rerun ??
    (options.sample === undefined ? chosen : sampleOf(chosen, options.sample, options.seed));
  const byFolder = (list: readonly Mutant[]): string =>
    Object.entries(
      list.reduce<Record<string, number>>((acc, m) => {
        const folder = m.file.split('/').slice(0, 2).join('/');
        acc[folder] = (acc[folder] ?? 0) + 1;
        return acc;
      }, {}),
    )
      .map(([folder, n]) => `${folder} ${n}`)
      .join(', ');
  process.stdout.write(
    `${everyMutant.length} mutants in ${files.length} files (${byFolder(everyMutant)})\n` +
      (options.sample !== undefined
        ? `sample of ${mutants.length} with seed ${options.seed} (${byFolder(mutants)})\n`
        : '') +
      (again !== undefined
        ? `again, from ${options.again}: ${again.carried.length} killed or timed out there (carried over, not run), ` +
          `${mutants.length} judged again, ${again.gone.length} no longer mutants\n` +
          again.gone.map((m) => `  gone: ${describe(m)}\n`).join('')
        : ''),
  );
  if (options.list === true) {
    for (const m of mutants) process.stdout.write(`${describe(m)}\n`);
    return 0;
  }

  const equivalents = await loadEquivalents(resolve(packageRoot, options.equivalents));
  const conforming = await loadEquivalents(resolve(packageRoot, options.conforming));
  const began = performance.now();
  const sandboxes: Sandbox[] = [];
  const stop = (): void => {
    void Promise.all(sandboxes.map((s) => s.remove())).then(() => process.exit(130));
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    for (let i = 0; i < options.concurrency; i++) sandboxes.push(await Sandbox.create(packageRoot));
    for (const file of new Set(mutants.map((m) => m.file))) {
      await sandboxes[0]!.checkCompilesAlike(file, sources.get(file)!);
    }
    // The suite's board first (undefined), then each extra board: a clean run of each.
    const boards: Array<string | undefined> = [undefined, ...options.boards];
    const cleanRuns: Array<{
      board?: string;
      clean: ConformanceReport;
      ms: number;
      timeoutMs: number;
    }> = [];
    for (const board of boards) {
      process.stdout.write(
        `clean run of the suite on the unmutated device-ref${board === undefined ? '' : `, board ${board}`}… `,
      );
      const cleanBegan = performance.now();
      const cleanRun = await sandboxes[0]!.runSuite(10 * 60_000, board);
      const ms = performance.now() - cleanBegan;
      if (cleanRun.report === undefined) {
        throw new Error(
          `the clean run${board === undefined ? '' : ` on ${board}`} gave no report (exit ${cleanRun.code}): ${cleanRun.stderr}`,
        );
      }
      const s = cleanRun.report.summary;
      process.stdout.write(
        `${(ms / 1000).toFixed(1)} s: ${s.pass} pass, ${s.fail} fail, ${s.notApplicable} n/a, ${s.untested} untested\n`,
      );
      cleanRuns.push({
        ...(board !== undefined && { board }),
        clean: cleanRun.report,
        ms,
        timeoutMs: Math.round(ms * options.timeoutFactor + TIMEOUT_SLACK_MS),
      });
    }
    const { clean, ms: cleanMs, timeoutMs } = cleanRuns[0]!;

    const results: MutantResult[] = new Array(mutants.length);
    const out = resolve(packageRoot, options.out);
    await mkdir(dirname(out), { recursive: true });
    const carried = again?.carried ?? [];
    const save = async (complete: boolean): Promise<void> => {
      const done = [...carried, ...results.filter(Boolean)];
      await writeFile(
        out,
        `${JSON.stringify(
          {
            complete,
            options: { ...options, timeoutMs },
            mutantsFound: everyMutant.length,
            clean: { durationMs: Math.round(cleanMs), summary: clean.summary },
            boards: cleanRuns.slice(1).map((c) => ({
              board: c.board,
              durationMs: Math.round(c.ms),
              summary: c.clean.summary,
            })),
            tally: tally(done.map((r) => r.status)),
            ...(again !== undefined && { gone: again.gone }),
            wallMs: Math.round(performance.now() - began),
            mutants: done,
          },
          null,
          2,
        )}\n`,
      );
    };

    let next = 0;
    let finished = 0;
    const worker = async (sandbox: Sandbox): Promise<void> => {
      for (let i = next++; i < mutants.length; i = next++) {
        const mutant = mutants[i]!;
        const source = sources.get(mutant.file)!;
        const base = {
          file: mutant.file,
          line: mutant.line,
          lineText: mutantKey(mutant, source).line,
          column: mutant.column,
          mutator: mutant.mutator,
          original: mutant.original,
          replacement: mutant.replacement,
          near: statementsNear(source, mutant.line),
        };
        const reason =
          NOT_DEVICE_CODE.get(mutant.file) ?? equivalenceOf(mutant, source, equivalents);
        let result: MutantResult;
        if (reason !== undefined) {
          result = {
            ...base,
            status: 'equivalent',
            failed: [],
            moved: [],
            equivalentReason: reason,
          };
        } else {
          const mutantBegan = performance.now();
          await sandbox.apply(mutant.file, applyMutant(source, mutant));
          let judgement: Judgement | undefined;
          let killedOn: string | undefined;
          try {
            for (const run of cleanRuns) {
              const on = judge(run.clean, await sandbox.runSuite(run.timeoutMs, run.board));
              if (on.status !== 'survived') {
                [judgement, killedOn] = [on, run.board];
                break;
              }
              judgement ??= on; // a survivor keeps the suite's board's picture (moved verdicts)
            }
          } finally {
            await sandbox.restore(mutant.file);
          }
          const conformingReason = equivalenceOf(mutant, source, conforming);
          result = {
            ...base,
            ...judgement!,
            ...(judgement!.status === 'survived' &&
              conformingReason !== undefined && { status: 'conforming' }),
            ...(conformingReason !== undefined && { conformingReason }),
            ...(judgement!.status !== 'survived' && killedOn !== undefined && { board: killedOn }),
            durationMs: Math.round(performance.now() - mutantBegan),
          };
        }
        results[i] = result;
        finished++;
        const detail =
          (result.board !== undefined ? ` on ${result.board}` : '') +
          (result.failed.length > 0
            ? ` (${result.failed.slice(0, 3).join(', ')}${result.failed.length > 3 ? ', …' : ''})`
            : result.note !== undefined
              ? ` (${result.note})`
              : '');
        process.stdout.write(
          `[${finished}/${mutants.length}] ${result.status.padEnd(10)} ${describe(mutant)}${detail}` +
            `${result.durationMs !== undefined ? ` ${(result.durationMs / 1000).toFixed(1)} s` : ''}\n`,
        );
        await save(false);
      }
    };
    await Promise.all(sandboxes.map(worker));
    await save(true);
    process.stdout.write(
      formatSummary([...carried, ...results], cleanMs, performance.now() - began),
    );
    process.stdout.write(`wrote ${relative(process.cwd(), out) || out}\n`);
    return 0;
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    await Promise.all(sandboxes.map((s) => s.remove()));
  }
}

const program = new Command('mutation')
  .description(
    'mutation testing of device-ref, judged by the conformance suite (viommu conform --target ref)',
  )
  .option('--files <glob...>', 'device-ref sources to mutate', DEFAULT_FILES)
  .option('--sample <n>', 'run a seeded random sample of this many mutants', positiveInt)
  .option('--seed <n>', 'seed of the sample', positiveInt, 1)
  .option('--concurrency <n>', 'suite runs at once, each in its own sandbox', positiveInt, 1)
  .option(
    '--timeout-factor <f>',
    "a mutant's time limit: the clean run's time × f + 5 s",
    positive,
    3,
  )
  .option('--equivalents <file>', 'mutants marked equivalent, with reasons', DEFAULT_EQUIVALENTS)
  .option(
    '--conforming <file>',
    'mutants whose behaviour the spec allows, with reasons: run, and scored apart when they survive',
    DEFAULT_CONFORMING,
  )
  .option('--out <file>', 'the JSON report', 'reports/mutation.json')
  .option('--list', 'list the mutants (of the sample) and run nothing')
  .option(
    '--mutant <place...>',
    'only the mutants at these places: FILE:LINE or FILE:LINE:COLUMN, as the runner prints them',
  )
  .addOption(
    new Option(
      '--again <report>',
      "judge an earlier run's survivors, conforming and equivalents again (its killed are carried over)",
    ).conflicts(['sample', 'mutant']),
  )
  .option(
    '--boards <board...>',
    `device-ref presets a mutant the suite's board lets through is judged on too ('${DRAFTS_BOARD}': the suite's board offering every draft, judged with --drafts; 'none': the suite's board only)`,
    DEFAULT_BOARDS,
  )
  .action(async (options: Options) => {
    if (options.boards.includes('none')) options.boards = [];
    process.exitCode = await main(options);
  });

await program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`mutation: ${(error as Error).message}\n`);
  process.exitCode = 2;
});
