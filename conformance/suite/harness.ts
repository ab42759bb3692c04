// What a conformance test is: a function of a fresh device. Tests name the statements they
// check in their titles (`[dev.probe.length] …`); the harness gives each test its own target,
// a time limit, and records what happened for the verdicts: an outcome per statement the test
// judged, so that each statement's verdict rests on its own evidence.
//
// Who is to blame decides the outcome. The device did something a statement forbids: `fail`.
// The device crashed or hung: `fail`, and a denial of service the run reports apart. The suite
// itself broke (an exception in its own code, a target profile that cannot express the test):
// `error`, with the stack, never counted against the device.

import { AssertionError } from 'node:assert';
import { performance } from 'node:perf_hooks';
import type { ReplyFinding } from '../driver/iommu-driver.js';
import { FieldError } from '../driver/requests.js';
import { UnknownSymbolError } from '../profile.js';
import { BarSizingError } from '../pci/bars.js';
import { QtestClosedError, QtestTimeoutError } from '../qtest/errors.js';
import type { Evidence } from '../scenario/expectation.js';
import { ExpectationFailure, SuiteError, toHex } from '../scenario/expectation.js';
import { openSession, type Session } from '../session.js';
import { TargetUnreachableError } from '../targets/target.js';
import type { Target } from '../targets/target.js';
import { VirtqueueFullError } from '../virtio/split-virtqueue.js';

export type TestOutcome = 'pass' | 'fail' | 'not-applicable' | 'untested' | 'error';

/** For a MAY statement: whether the device does the optional thing. */
export type OptionPresence = 'present' | 'absent';

/** What one test found about one statement. */
export interface StatementOutcome {
  outcome: TestOutcome;
  /** Why it was not judged (not-applicable, untested, error), or a note on a pass. */
  reason?: string;
  evidence?: Evidence;
  option?: OptionPresence;
}

/** A guest-triggerable denial of service: the device crashed or stopped answering. */
export interface Denial {
  kind: 'crash' | 'hang';
  message: string;
}

export interface TestRecord {
  title: string;
  /** Every statement the test judged: its tags first, then any other a finding named. */
  statements: string[];
  /** The test as a whole: its worst statement outcome. */
  outcome: TestOutcome;
  reason?: string;
  durationMs: number;
  evidence?: Evidence;
  /** The outcome for each statement in `statements`. */
  judged: Record<string, StatementOutcome>;
  denial?: Denial;
}

/** Thrown by a test: the device does not offer what the test needs. */
export class NotApplicable extends Error {
  override name = 'NotApplicable';
}

/** Thrown by a test: it cannot judge the statement on this target. */
export class Untested extends Error {
  override name = 'Untested';
}

/**
 * A test's record of statement outcomes, for tests that judge more than their tags or go on
 * after a finding. What a test throws judges its tags that are still open (an
 * ExpectationFailure naming a statement judges that one); a tag nobody judged passes when the
 * test ends normally.
 */
export class Judgement {
  readonly #outcomes = new Map<string, StatementOutcome>();

  constructor(readonly tags: readonly string[]) {}

  /** `statement` failed; the test goes on. The first failure of a statement is kept. */
  fail(statement: string, evidence: Evidence & { message: string }): void {
    if (this.#outcomes.get(statement)?.outcome !== 'fail')
      this.#outcomes.set(statement, { outcome: 'fail', evidence });
  }

  /** `statement` holds, as far as this test saw (a note says what it saw). */
  pass(statement: string, note?: string): void {
    this.#settle(statement, { outcome: 'pass', ...(note !== undefined && { reason: note }) });
  }

  /** A MAY statement done right, with whether the device does the optional thing. */
  option(statement: string, option: OptionPresence, note: string): void {
    this.#settle(statement, { outcome: 'pass', option, reason: `option ${option}: ${note}` });
  }

  /** This test cannot judge `statement` (the reason says why). */
  untested(statement: string, reason: string): void {
    this.#settle(statement, { outcome: 'untested', reason });
  }

  /** What the test found so far, by statement. */
  get outcomes(): ReadonlyMap<string, StatementOutcome> {
    return this.#outcomes;
  }

  /** A failure outranks whatever else the test said about the statement. */
  #settle(statement: string, outcome: StatementOutcome): void {
    if (this.#outcomes.get(statement)?.outcome !== 'fail') this.#outcomes.set(statement, outcome);
  }
}

export type DeviceTest = (session: Session, judgement: Judgement) => Promise<void>;

export interface DefinedTest {
  title: string;
  statements: string[];
  run: DeviceTest;
}

const TAG = /\[((?:dev|drv)\.[a-z0-9][a-z0-9.-]*)\]/g;

/** The statement IDs in a title's `[…]` tags. */
export function titleTags(title: string): string[] {
  return [...title.matchAll(TAG)].map((m) => m[1]!);
}

/** Collects the hand-written tests of one spec section: `s.it('[dev.x] does y', …)`. */
export class SectionTests {
  readonly tests: DefinedTest[] = [];

  it(title: string, run: DeviceTest): void {
    this.tests.push({ title, statements: titleTags(title), run });
  }
}

/**
 * What the run as a whole allows: a deadline, and how many tests in a row may find a target
 * that never answers before the run gives up. Once stopped, every later test is an `error`
 * without touching the target.
 */
export class RunControl {
  #unreachableInARow = 0;
  #stopped: string | undefined;
  readonly #deadline: number | undefined;

  constructor(
    readonly options: {
      /** Give up after this many consecutive tests whose target never answered. */
      unreachableLimit?: number;
      /** The whole run's time limit. */
      timeLimitMs?: number;
    } = {},
  ) {
    this.#deadline =
      options.timeLimitMs === undefined ? undefined : performance.now() + options.timeLimitMs;
  }

  /** Why the run stopped early, once it has. */
  get stopped(): string | undefined {
    if (this.#stopped === undefined && this.remainingMs() === 0)
      this.#stopped = `the run's time limit of ${formatSeconds(this.options.timeLimitMs!)} was reached`;
    return this.#stopped;
  }

  /** Time left before the run's deadline (Infinity without one). */
  remainingMs(): number {
    return this.#deadline === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(0, this.#deadline - performance.now());
  }

  /** Tells the control whether a test's target answered at all. */
  reached(answered: boolean, why?: string): void {
    if (answered) {
      this.#unreachableInARow = 0;
      return;
    }
    this.#unreachableInARow++;
    const limit = this.options.unreachableLimit ?? DEFAULT_UNREACHABLE_LIMIT;
    if (this.#unreachableInARow >= limit && this.#stopped === undefined) {
      this.#stopped = `the target did not answer for ${limit} tests in a row (${why ?? 'no answer'})`;
    }
  }
}

/** Tests in a row whose target never answers before the run stops. */
export const DEFAULT_UNREACHABLE_LIMIT = 3;

const formatSeconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export interface RunLimits {
  /** Longest a test may take before it counts as a hang. */
  testTimeoutMs: number;
  control?: RunControl;
}

/** Errors that mean the suite broke, not the device: `error` verdicts. */
export function isSuiteError(error: unknown): boolean {
  return (
    error instanceof SuiteError ||
    error instanceof UnknownSymbolError ||
    error instanceof FieldError ||
    error instanceof AssertionError ||
    error instanceof TypeError ||
    error instanceof ReferenceError ||
    error instanceof SyntaxError ||
    error instanceof RangeError ||
    error instanceof VirtqueueFullError ||
    // The suite's side cut the device off (its launcher died): nothing the device did.
    (error instanceof QtestClosedError && error.bySuite) ||
    !(error instanceof Error)
  );
}

/** The stack of a suite error, or its text when it has none. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Runs one test on a fresh device from `makeTarget` and returns its record. The target is
 * always closed afterwards.
 */
export async function runDeviceTest(
  test: { title: string; statements: string[] },
  makeTarget: () => Target,
  body: DeviceTest,
  limits: RunLimits,
): Promise<TestRecord> {
  const began = performance.now();
  const judgement = new Judgement(test.statements);
  let session: Session | undefined;
  const finish = (...found: [StatementOutcome, string?, Denial?]): TestRecord => {
    judgeReplies(judgement, session?.driver.replyFindings ?? []);
    return testRecord(test, judgement, Math.round(performance.now() - began), found);
  };
  const control = limits.control;
  const stopped = control?.stopped;
  if (stopped !== undefined) return finish({ outcome: 'error', reason: `not run: ${stopped}` });
  const remaining = control?.remainingMs() ?? Number.POSITIVE_INFINITY;
  const runLimited = remaining < limits.testTimeoutMs;
  const timeLimitMs = Math.min(limits.testTimeoutMs, remaining);
  const target = makeTarget();
  try {
    await withTimeLimit(
      (async () => {
        session = await openSession(target);
        control?.reached(true);
        await body(session, judgement);
      })(),
      timeLimitMs,
      runLimited
        ? `stopped by the run's time limit after ${timeLimitMs} ms`
        : `the device did not finish the test within ${timeLimitMs} ms`,
    );
    return finish({ outcome: 'pass' });
  } catch (error) {
    if (error instanceof TargetUnreachableError) {
      control?.reached(false, error.message);
      return finish({ outcome: 'error', reason: `not run: ${error.message}` });
    }
    if (error instanceof TimeLimitError && runLimited)
      return finish({ outcome: 'error', reason: error.message });
    return finish(...classify(error, target));
  } finally {
    await target.close().catch(() => undefined);
  }
}

/**
 * What `error` says about the test's open statements: an outcome, the statement a failure
 * names (if not the tags), and a denial of service if the device crashed or hung.
 */
function classify(error: unknown, target: Target): [StatementOutcome, string?, Denial?] {
  if (error instanceof NotApplicable) return [{ outcome: 'not-applicable', reason: error.message }];
  if (error instanceof Untested) return [{ outcome: 'untested', reason: error.message }];
  if (error instanceof ExpectationFailure)
    return [{ outcome: 'fail', evidence: error.evidence }, error.statement];
  // The device's BARs defeat PCI sizing: no test can reach it, and the PCI rules say why.
  if (error instanceof BarSizingError)
    return [{ outcome: 'fail', evidence: { message: error.message } }, 'dev.pci.pci-rules'];
  if (isSuiteError(error)) return [{ outcome: 'error', reason: errorText(error) }];
  const message = `${target.description}: ${(error as Error).message}`;
  const failed: StatementOutcome = { outcome: 'fail', evidence: { message } };
  if (error instanceof QtestClosedError) return [failed, undefined, { kind: 'crash', message }];
  if (error instanceof QtestTimeoutError || error instanceof TimeLimitError)
    return [failed, undefined, { kind: 'hang', message }];
  return [failed];
}

/**
 * What the device broke in some reply along the way, whatever the test checks
 * (dev.req.tail-reserved on every reply): a failure of that statement, the first reply its
 * evidence.
 */
export function judgeReplies(judgement: Judgement, findings: readonly ReplyFinding[]): void {
  const byStatement = new Map<string, ReplyFinding[]>();
  for (const f of findings)
    byStatement.set(f.statement, [...(byStatement.get(f.statement) ?? []), f]);
  for (const [statement, [first, ...more]] of byStatement) {
    judgement.fail(statement, {
      message: `${first!.message}${more.length > 0 ? ` (and ${more.length} more replies)` : ''}`,
      request: toHex(first!.request),
      reply: toHex(first!.reply),
    });
  }
}

const RANK: Record<TestOutcome, number> = {
  fail: 4,
  error: 3,
  pass: 2,
  'not-applicable': 1,
  untested: 0,
};

function testRecord(
  test: { title: string; statements: string[] },
  judgement: Judgement,
  durationMs: number,
  [rest, named, denial]: [StatementOutcome, string?, Denial?],
): TestRecord {
  // A failure thrown for a named statement judges that one; the open tags then could not be.
  if (named !== undefined && rest.evidence !== undefined)
    judgement.fail(named, { message: 'failed', ...rest.evidence });
  const judged: Record<string, StatementOutcome> = Object.fromEntries(judgement.outcomes);
  for (const id of test.statements) {
    if (judged[id] !== undefined) continue;
    judged[id] =
      named !== undefined && named !== id
        ? { outcome: 'untested', reason: `the test stopped at a failure of ${named}` }
        : rest;
  }
  const outcomes = Object.values(judged);
  const worst = outcomes.reduce<StatementOutcome>(
    (a, b) => (RANK[b.outcome] > RANK[a.outcome] ? b : a),
    outcomes[0] ?? rest,
  );
  const others = Object.keys(judged).filter((id) => !test.statements.includes(id));
  return {
    title: test.title,
    statements: [...test.statements, ...others],
    outcome: worst.outcome,
    ...(worst.reason !== undefined && { reason: worst.reason }),
    ...(worst.evidence !== undefined && { evidence: worst.evidence }),
    durationMs,
    judged,
    ...(denial !== undefined && { denial }),
  };
}

/** Thrown when a test or a probe outlives its time limit. */
export class TimeLimitError extends Error {
  override name = 'TimeLimitError';
}

/**
 * `work`'s result, or a TimeLimitError after `ms`. Work that runs late is abandoned, not
 * stopped (closing the target stops it); its later failure is ignored.
 */
export async function withTimeLimit<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeLimitError(message)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}
