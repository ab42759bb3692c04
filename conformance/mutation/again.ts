// `--again REPORT`: judge an earlier run's mutants once more, with today's suite and today's
// equivalence list, so that the score of a sample after its survivors were read (equivalent
// ones listed, gaps closed by new tests) is measured rather than reckoned by hand. Mutants
// the earlier run killed, or that outlived their time limit, are carried over as they were
// and not run again (a suite only gains tests between the two runs; the summary says how many
// were carried); every other one is judged afresh. A mutant is looked up by its file, the
// text of its line (as the equivalence list keys it) and its column there, so an edit above it
// does not lose it; the nearest such place wins when a file repeats the line. (A report
// written before lines were recorded is matched by line number.) One whose own line changed,
// or that lies outside today's --files, is not found: it is named (`gone`) and left out of
// the score.

import { readFile } from 'node:fs/promises';
import type { MutantStatus } from './classify.js';
import type { Mutant } from './operators.js';
import type { MutantResult } from './run.js';

const STATUSES: ReadonlySet<string> = new Set<MutantStatus>([
  'killed',
  'survived',
  'timeout',
  'equivalent',
  'conforming',
]);

/** The mutants an earlier, finished run recorded (its --out file), checked field by field. */
export async function readEarlierRun(path: string): Promise<MutantResult[]> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`--again ${path}: ${(error as Error).message}`);
  }
  const report = data as { complete?: unknown; mutants?: unknown };
  if (!Array.isArray(report?.mutants))
    throw new Error(`--again ${path}: not a mutation report (it has no "mutants" list)`);
  if (report.complete !== true)
    throw new Error(
      `--again ${path}: the run it records did not finish; run the sample again instead`,
    );
  report.mutants.forEach((entry: unknown, i) => {
    const m = entry as Record<string, unknown>;
    const wrong = [
      typeof m?.file !== 'string' && 'file',
      !Number.isInteger(m?.line) && 'line',
      !Number.isInteger(m?.column) && 'column',
      typeof m?.mutator !== 'string' && 'mutator',
      typeof m?.original !== 'string' && 'original',
      typeof m?.replacement !== 'string' && 'replacement',
      !STATUSES.has(m?.status as string) && 'status',
      !Array.isArray(m?.failed) && 'failed',
      !Array.isArray(m?.moved) && 'moved',
      !Array.isArray(m?.near) && 'near',
      m?.lineText !== undefined && typeof m.lineText !== 'string' && 'lineText',
    ].filter(Boolean);
    if (wrong.length > 0)
      throw new Error(`--again ${path}: mutant ${i} has no valid ${wrong.join(', ')}`);
  });
  return report.mutants as MutantResult[];
}

export interface AgainPlan {
  /** Killed or timed out in the earlier run: kept as they were, marked `carried`. */
  carried: MutantResult[];
  /** Survivors, conforming and equivalents of the earlier run, as today's population has them. */
  rerun: Mutant[];
  /** Earlier mutants today's population no longer has (their line changed). */
  gone: MutantResult[];
}

/**
 * `result`'s mutant in today's `population`; `lineText` gives a mutant's trimmed source
 * line. Undefined when it is not there any more.
 */
function findToday(
  result: MutantResult,
  population: readonly Mutant[],
  lineText: (mutant: Mutant) => string,
): Mutant | undefined {
  const candidates = population.filter(
    (m) =>
      m.file === result.file &&
      m.column === result.column &&
      m.mutator === result.mutator &&
      m.original === result.original &&
      m.replacement === result.replacement &&
      (result.lineText === undefined ? m.line === result.line : lineText(m) === result.lineText),
  );
  const distance = (m: Mutant): number => Math.abs(m.line - result.line);
  return candidates.reduce<Mutant | undefined>(
    (best, m) => (best === undefined || distance(m) < distance(best) ? m : best),
    undefined,
  );
}

export function planAgain(
  earlier: readonly MutantResult[],
  population: readonly Mutant[],
  lineText: (mutant: Mutant) => string,
): AgainPlan {
  const plan: AgainPlan = { carried: [], rerun: [], gone: [] };
  for (const result of earlier) {
    const today = findToday(result, population, lineText);
    if (today === undefined) plan.gone.push(result);
    else if (result.status === 'killed' || result.status === 'timeout')
      plan.carried.push({ ...result, carried: true });
    else plan.rerun.push(today);
  }
  return plan;
}
