// The scenario runner: executes the steps of one scenario (dist/cases.json, grammar in
// docs/spec-dialect.md) on a fresh device and says whether the device did what they expect.
// Here: the two ways to run one (judge it, or probe its mappings) and their outcomes; the
// steps run in scenario-run.ts, a DMA step and its judgement in dma-step.ts.

import type { Scenario } from '../../dist/ts/schemas/cases.js';
import type { Session } from '../session.js';
import { featureBit } from '../virtio/constants.js';
import type { ProbeFinding } from './boundary-probes.js';
import type { PartFinding } from './dma-step.js';
import {
  ExpectationFailure,
  InapplicableStep,
  UntestableStep,
  type Evidence,
} from './expectation.js';
import { ScenarioRun, type Choice } from './scenario-run.js';
import { constantValue, shortName } from './spec-names.js';

export type ScenarioOutcome =
  | {
      outcome: 'pass';
      /** Requests whose expectation allowed several statuses: what the device chose. */
      choices: Choice[];
      /** What the scenario saw that no statement it judges is about (a fault's reason). */
      notes: string[];
      findings: PartFinding[];
    }
  | {
      outcome: 'fail';
      evidence: Evidence & { message: string };
      /** The statement the failure is about when it is not the scenario's own. */
      statement?: string;
      findings: PartFinding[];
    }
  | { outcome: 'not-applicable' | 'untested'; reason: string };

/** What the boundary probes of a scenario's mappings found (probeScenarioMappings). */
export type ProbeRun =
  | {
      outcome: 'probed';
      /** Probe sets run, and edu transfers they took. */
      sets: number;
      transfers: number;
      findings: ProbeFinding[];
    }
  | { outcome: 'not-applicable' | 'untested'; reason: string };

/** Runs `scenario` on a session whose device has not been started yet. */
export async function runScenario(scenario: Scenario, session: Session): Promise<ScenarioOutcome> {
  const skip = notApplicable(scenario, session);
  if (skip !== undefined) return skip;
  const run = new ScenarioRun(scenario, session);
  try {
    await run.start();
    for (const step of scenario.steps) await run.step(step);
    return { outcome: 'pass', choices: run.choices, notes: run.notes, findings: run.findings };
  } catch (error) {
    if (error instanceof UntestableStep)
      return { outcome: 'untested', reason: `line ${run.line}: ${error.message}` };
    if (error instanceof InapplicableStep)
      return { outcome: 'not-applicable', reason: error.message };
    if (error instanceof ExpectationFailure) {
      return {
        outcome: 'fail',
        evidence: { ...error.evidence, message: `line ${run.line}: ${error.evidence.message}` },
        ...(error.statement !== undefined && { statement: error.statement }),
        findings: run.findings,
      };
    }
    // The device broke the connection or the suite broke itself: the harness tells which.
    if (error instanceof Error) error.message = `line ${run.line}: ${error.message}`;
    throw error;
  }
}

/**
 * Runs the requests of `scenario` (not its DMA steps) and probes the boundaries of every
 * mapping it makes (boundary-probes.ts), as soon as @ep is attached to the mapping's domain.
 * The scenario's own expectations belong to its statement: if one fails, the probes are
 * untested, since the device is then in a state the scenario does not describe.
 */
export async function probeScenarioMappings(
  scenario: Scenario,
  session: Session,
): Promise<ProbeRun> {
  const skip = notApplicable(scenario, session);
  if (skip !== undefined) return skip;
  if (session.driver.edu === undefined) {
    return { outcome: 'untested', reason: 'the target has no edu endpoint to issue DMA' };
  }
  const run = new ScenarioRun(scenario, session, true);
  try {
    await run.start();
    for (const step of scenario.steps) await run.step(step);
  } catch (error) {
    if (error instanceof UntestableStep) return { outcome: 'untested', reason: error.message };
    if (error instanceof InapplicableStep)
      return { outcome: 'not-applicable', reason: error.message };
    // A device that crashes or hangs, or a suite that breaks, is for the harness to judge.
    if (!(error instanceof ExpectationFailure)) throw error;
    const message = error.evidence.message;
    return {
      outcome: 'untested',
      reason: `${scenario.id} line ${run.line} did not go as the scenario expects (${message}), so its mappings were not probed`,
    };
  }
  const probes = run.probes;
  if (probes.sets === 0) {
    return {
      outcome: 'untested',
      reason: `no mapping of ${scenario.id} could be probed: ${probes.skipped.join('; ') || 'none is made while @ep is attached to its domain'}`,
    };
  }
  return { outcome: 'probed', ...probes };
}

/** Not applicable when the device lacks (or has) a feature the scenario `needs`. */
function notApplicable(
  scenario: Scenario,
  session: Session,
): { outcome: 'not-applicable'; reason: string } | undefined {
  const driver = session.driver;
  for (const step of scenario.steps) {
    if (step.op !== 'needs') continue;
    const lacking = step.offered.filter(
      (name) => (driver.offered & featureBit(constantValue(name))) === 0n,
    );
    const present = step.notOffered.filter(
      (name) => (driver.offered & featureBit(constantValue(name))) !== 0n,
    );
    if (lacking.length > 0)
      return {
        outcome: 'not-applicable',
        reason: `needs ${lacking.map(shortName).join(' ')}: not offered`,
      };
    if (present.length > 0) {
      return {
        outcome: 'not-applicable',
        reason: `needs ${present.map((n) => '!' + shortName(n)).join(' ')}: offered`,
      };
    }
  }
  return undefined;
}
