// Whether the conformance suite saw a mutant, judged against the clean run of the same suite
// on the unmutated device: a statement that fails where the clean run did not, a robustness
// probe that finds a crash, hang, broken device or breach the clean run did not, a run that
// stops early because the device does not answer, or a run that cannot finish, kills the
// mutant. Anything else lets it survive, even when some
// verdicts moved: pass → not-applicable is a device offering less, and pass → error is the
// suite breaking on its own (an exception in its code, guest memory it ran out of), which
// says nothing about the device. The one error that does kill is a failed platform check:
// the suite saw that the board under the device (PCI mechanism, q35 host bridge and 0xcf9,
// edu, qtest) is broken and refused to judge on it, which is a detection, not a suite bug.

import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { PLATFORM_BROKEN } from '../suite/platform-checks.js';

/**
 * `conforming`: a survivor listed in conforming-mutants.json, whose changed behaviour the spec
 * allows (the mutated device is still a conforming device, so no conformance test may fail
 * it); unlike an equivalent mutant it is run, and stays `killed` if the suite kills it.
 */
export type MutantStatus = 'killed' | 'survived' | 'timeout' | 'equivalent' | 'conforming';

/** What one suite run against a mutant gave. */
export interface SuiteRunResult {
  /** Exit code of `viommu conform`; null when it was killed. */
  code: number | null;
  /** Its report; absent when the run ended before writing one. */
  report?: ConformanceReport;
  /** It outlived the per-mutant time limit and was stopped. */
  timedOut: boolean;
  /** The last lines it printed on stderr, for a run that failed. */
  stderr: string;
}

export interface Judgement {
  status: Exclude<MutantStatus, 'equivalent' | 'conforming'>;
  /** Statements (and probes) that failed where the clean run passed. */
  failed: string[];
  /** Other verdict moves, `statement: pass → untested`, for the survivor list. */
  moved: string[];
  /** How the run ended when it gave no report. */
  note?: string;
}

/** Probe outcomes that blame the device; `error` is the probe's own failure. */
const DEVICE_FINDINGS = new Set(['crash', 'hang', 'broken', 'isolation-breach']);

export function judge(clean: ConformanceReport, run: SuiteRunResult): Judgement {
  if (run.timedOut)
    return { status: 'timeout', failed: [], moved: [], note: 'the run outlived its time limit' };
  if (run.report === undefined) {
    const last = run.stderr.trim().split('\n').slice(-1)[0] ?? '';
    return {
      status: 'killed',
      failed: [],
      moved: [],
      note: `no report (exit ${run.code}): ${last}`,
    };
  }
  // A target that stops answering for test after test ends the run early: a device that
  // cannot start, or dies at once, is the device's failure (its verdicts are errors, "not run").
  if (run.report.stopped !== undefined && clean.stopped === undefined)
    return {
      status: 'killed',
      failed: [],
      moved: [],
      note: `the run stopped early: ${run.report.stopped}`,
    };
  const before = new Map(clean.verdicts.map((v) => [v.statement, v.verdict as string]));
  const failed: string[] = [];
  const moved: string[] = [];
  for (const verdict of run.report.verdicts) {
    const was = before.get(verdict.statement);
    if (was === verdict.verdict) continue;
    if (verdict.verdict === 'fail') failed.push(verdict.statement);
    else if (verdict.verdict === 'error' && verdict.reason?.includes(PLATFORM_BROKEN))
      failed.push(`${verdict.statement}: platform check`);
    else moved.push(`${verdict.statement}: ${was ?? 'absent'} → ${verdict.verdict}`);
  }
  const cleanProbes = new Map((clean.robustness ?? []).map((f) => [f.probe, f.outcome]));
  for (const finding of run.report.robustness ?? []) {
    if (
      DEVICE_FINDINGS.has(finding.outcome) &&
      !DEVICE_FINDINGS.has(cleanProbes.get(finding.probe) ?? '')
    ) {
      failed.push(`probe ${finding.probe}: ${finding.outcome}`);
    }
  }
  return { status: failed.length > 0 ? 'killed' : 'survived', failed, moved };
}

export interface Tally {
  killed: number;
  survived: number;
  timeout: number;
  equivalent: number;
  conforming: number;
  total: number;
  /**
   * (killed + timeout) ÷ (total − equivalent), in percent, conforming survivors counted as
   * survivors; undefined with nothing to score.
   */
  score: number | undefined;
  /**
   * (killed + timeout) ÷ (total − equivalent − conforming): the share of mutants that make
   * the device non-conforming which the suite kills; undefined with nothing to score.
   */
  nonConformingScore: number | undefined;
}

export function tally(statuses: readonly MutantStatus[]): Tally {
  const count = (s: MutantStatus): number => statuses.filter((x) => x === s).length;
  const killed = count('killed');
  const timeout = count('timeout');
  const equivalent = count('equivalent');
  const conforming = count('conforming');
  const percent = (of: number): number | undefined =>
    of > 0 ? Math.round(((killed + timeout) / of) * 1000) / 10 : undefined;
  return {
    killed,
    survived: count('survived'),
    timeout,
    equivalent,
    conforming,
    total: statuses.length,
    score: percent(statuses.length - equivalent),
    nonConformingScore: percent(statuses.length - equivalent - conforming),
  };
}
