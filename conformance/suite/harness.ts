// What a conformance test is: a function of a fresh device. Tests name the statements they
// check in their titles (`[dev.probe.length] …`); the harness gives each test its own target,
// a time limit, and records what happened for the verdicts.

import { performance } from 'node:perf_hooks';
import type { Evidence } from '../scenario/expectation.js';
import { ExpectationFailure, toHex } from '../scenario/expectation.js';
import { openSession, type Session } from '../session.js';
import type { Target } from '../targets/target.js';

export type TestOutcome = 'pass' | 'fail' | 'not-applicable' | 'untested';

export interface TestRecord {
  title: string;
  statements: string[];
  outcome: TestOutcome;
  reason?: string;
  durationMs: number;
  evidence?: Evidence;
  /**
   * Statements the device broke in some reply along the way, whatever the test checks
   * (dev.req.tail-reserved): each becomes a failed record of its own (findingRecords).
   */
  findings?: ReplyFindingRecord[];
}

export interface ReplyFindingRecord {
  statement: string;
  evidence: Evidence & { message: string };
}

/** A failed record per statement the replies of `record`'s test broke; the first finding is the evidence. */
export function findingRecords(record: TestRecord): TestRecord[] {
  const byStatement = new Map<string, ReplyFindingRecord[]>();
  for (const finding of record.findings ?? []) {
    byStatement.set(finding.statement, [...(byStatement.get(finding.statement) ?? []), finding]);
  }
  return [...byStatement].map(([statement, found]) => ({
    title: `[${statement}] every reply, during: ${record.title}`,
    statements: [statement],
    outcome: 'fail',
    durationMs: 0,
    evidence: {
      ...found[0]!.evidence,
      message: `${found[0]!.evidence.message}${found.length > 1 ? ` (and ${found.length - 1} more replies)` : ''}`,
    },
  }));
}

/** Thrown by a test: the device does not offer what the test needs. */
export class NotApplicable extends Error {
  override name = 'NotApplicable';
}

/** Thrown by a test: it cannot judge the statement on this target. */
export class Untested extends Error {
  override name = 'Untested';
}

export type DeviceTest = (session: Session) => Promise<void>;

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

export interface RunLimits {
  /** Longest a test may take before it counts as a hang. */
  testTimeoutMs: number;
}

/**
 * Runs one test on a fresh device from `makeTarget` and returns its record. A device that
 * crashes, hangs or answers garbage fails the test with the error's message; the target is
 * always closed afterwards.
 */
export async function runDeviceTest(
  test: { title: string; statements: string[] },
  makeTarget: () => Target,
  body: DeviceTest,
  limits: RunLimits,
): Promise<TestRecord> {
  const began = performance.now();
  const target = makeTarget();
  let session: Session | undefined;
  const record = (outcome: TestOutcome, extra: Partial<TestRecord> = {}): TestRecord => {
    const findings = (session?.driver.replyFindings ?? []).map((f) => ({
      statement: f.statement,
      evidence: { message: f.message, request: toHex(f.request), reply: toHex(f.reply) },
    }));
    return {
      title: test.title,
      statements: test.statements,
      outcome,
      durationMs: Math.round(performance.now() - began),
      ...extra,
      ...(findings.length > 0 && { findings }),
    };
  };
  try {
    await withTimeLimit(
      (async () => body((session = await openSession(target))))(),
      limits.testTimeoutMs,
      `the device did not finish the test within ${limits.testTimeoutMs} ms`,
    );
    return record('pass');
  } catch (error) {
    if (error instanceof NotApplicable) return record('not-applicable', { reason: error.message });
    if (error instanceof Untested) return record('untested', { reason: error.message });
    if (error instanceof ExpectationFailure) return record('fail', { evidence: error.evidence });
    return record('fail', {
      evidence: { message: `${target.description}: ${(error as Error).message}` },
    });
  } finally {
    await target.close().catch(() => undefined);
  }
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
