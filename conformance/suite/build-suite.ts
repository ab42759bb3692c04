// The conformance suite as mocha suites built at run time: one suite per spec section, holding
// a test per scenario (`[statement-id] statement-id#n: …`) and the section's hand-written tests
// (sections/*.ts). Every test runs on a fresh device from the target; each records a TestRecord.

import { performance } from 'node:perf_hooks';
import Mocha from 'mocha';
import type { Scenario } from '../../dist/ts/schemas/cases.js';
import type { Cases, CaseStatement } from '../cases.js';
import { runScenario } from '../scenario/run-scenario.js';
import { ExpectationFailure } from '../scenario/expectation.js';
import type { Target } from '../targets/target.js';
import {
  NotApplicable,
  Untested,
  type RunControl,
  runDeviceTest,
  type DeviceTest,
  type TestRecord,
} from './harness.js';
import { draftGateTests } from './draft-gate.js';
import { boundaryProbeTests, subPageProbeTests } from './probe-tests.js';
import { SECTION_TESTS } from './sections/index.js';

export interface SuiteOptions {
  /** A fresh target for each test. */
  makeTarget: () => Target;
  /** Run only tests of statements whose ID starts with this. */
  only?: string;
  /** Longest a test may take before it counts as a hang (default 60 s). */
  testTimeoutMs?: number;
  /** The run's deadline and its patience with a target that never answers. */
  control?: RunControl;
  /** Called once the tests are known, with their number. */
  onStart?: (total: number) => void;
  /** Called after each test. */
  onTest?: (record: TestRecord) => void;
  /**
   * Tests run at once, each on its own device (default 1). Records keep the suite's order
   * whatever order the tests end in.
   */
  lanes?: number;
}

export interface SuiteRun {
  startedAt: Date;
  durationMs: number;
  records: TestRecord[];
}

export const DEFAULT_TEST_TIMEOUT_MS = 60_000;

/**
 * A scenario as a test of `statement`. For a MAY, the requests whose expectation allowed
 * several statuses say whether the device took the option: the spec's MAY scenarios accept
 * S_OK or the optional refusal, so any status but S_OK there is the option present.
 */
function scenarioBody(scenario: Scenario, statement: CaseStatement): DeviceTest {
  return async (session, judgement) => {
    const result = await runScenario(scenario, session);
    // What the scenario found about other statements counts for them, whatever its own verdict.
    if (result.outcome === 'pass' || result.outcome === 'fail') {
      for (const { statement: other, holds, evidence } of result.findings) {
        if (holds) judgement.pass(other);
        else judgement.fail(other, evidence);
      }
    }
    if (result.outcome === 'fail') throw new ExpectationFailure(result.evidence, result.statement);
    if (result.outcome === 'not-applicable') throw new NotApplicable(result.reason);
    if (result.outcome === 'untested') throw new Untested(result.reason);
    if (result.outcome !== 'pass') return;
    const notes = result.notes.join('; ');
    if (statement.level === 'MAY' && result.choices.length > 0) {
      const taken = result.choices.filter((c) => c.status !== 'S_OK');
      const said = result.choices.map((c) => `line ${c.line}: ${c.request} got ${c.status}`);
      judgement.option(
        statement.id,
        taken.length > 0 ? 'present' : 'absent',
        [...said, ...result.notes].join('; '),
      );
    } else if (notes !== '') judgement.pass(statement.id, notes);
  };
}

/** The first line of a scenario that is a step, for its test title. */
function scenarioSummary(scenario: Scenario): string {
  const lines = scenario.text.split('\n').map((l) => l.trim());
  return (
    lines.find(
      (l) => l !== '' && !l.startsWith('#') && !l.startsWith('needs') && !l.startsWith('features'),
    ) ?? ''
  );
}

/** Builds the mocha suites, runs them, and returns a record per test. */
export async function runConformanceSuite(cases: Cases, options: SuiteOptions): Promise<SuiteRun> {
  const startedAt = new Date();
  const began = performance.now();
  const records: TestRecord[] = [];
  const limits = {
    testTimeoutMs: options.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS,
    ...(options.control !== undefined && { control: options.control }),
  };
  const wanted = (statements: string[]): boolean =>
    options.only === undefined || statements.some((id) => id.startsWith(options.only!));

  const mocha = new Mocha({ timeout: 0, reporter: Mocha.reporters.Base });
  const sections = new Map<string, Mocha.Suite>();
  const sectionSuite = (slug: string, title: string): Mocha.Suite => {
    let suite = sections.get(slug);
    if (suite === undefined) {
      suite = Mocha.Suite.create(mocha.suite, title);
      sections.set(slug, suite);
    }
    return suite;
  };
  // Each test's run, started by the lanes below; mocha takes the records in the suite's order.
  const runs: Array<() => Promise<TestRecord>> = [];
  const started: Array<Promise<TestRecord>> = [];
  const addTest = (
    suite: Mocha.Suite,
    title: string,
    statements: string[],
    body: DeviceTest,
  ): void => {
    const index = runs.length;
    runs.push(async () => {
      const record = await runDeviceTest({ title, statements }, options.makeTarget, body, limits);
      options.onTest?.(record);
      return record;
    });
    suite.addTest(
      new Mocha.Test(title, async function (this: Mocha.Context) {
        const record = await started[index]!;
        records.push(record);
        if (record.outcome === 'fail' || record.outcome === 'error')
          throw new Error(record.evidence?.message ?? record.reason ?? record.outcome);
        if (record.outcome !== 'pass') this.skip();
      }),
    );
  };

  const titles = new Map<string, string>();
  for (const statement of cases.statements) {
    if (statement.role !== 'device') continue;
    titles.set(statement.section, statement.sectionTitle);
    if (!wanted([statement.id])) continue;
    const suite = sectionSuite(statement.section, statement.sectionTitle);
    for (const scenario of statement.scenarios) {
      addTest(
        suite,
        `[${statement.id}] ${scenario.id}: ${scenarioSummary(scenario)}`,
        [statement.id],
        scenarioBody(scenario, statement),
      );
    }
  }
  for (const { section, tests } of SECTION_TESTS) {
    for (const test of tests.tests) {
      if (!wanted(test.statements)) continue;
      addTest(
        sectionSuite(section, titles.get(section) ?? section),
        test.title,
        test.statements,
        test.run,
      );
    }
  }
  for (const test of [
    ...boundaryProbeTests(cases),
    ...subPageProbeTests(cases),
    ...draftGateTests(cases),
  ]) {
    if (!wanted(test.statements)) continue;
    addTest(sectionSuite(test.section, test.sectionTitle), test.title, test.statements, test.run);
  }
  options.onStart?.(runs.length);
  startInLanes(runs, started, options.lanes ?? 1);
  await new Promise<void>((resolve) => mocha.run(() => resolve()));
  return { startedAt, durationMs: Math.round(performance.now() - began), records };
}

/**
 * Starts `runs` with at most `lanes` under way at once, in order; `started[i]` settles as
 * run i does.
 */
function startInLanes<T>(
  runs: ReadonlyArray<() => Promise<T>>,
  started: Array<Promise<T>>,
  lanes: number,
): void {
  const settlers: Array<{ resolve: (value: T) => void; reject: (error: unknown) => void }> = [];
  for (let i = 0; i < runs.length; i++) {
    started.push(new Promise<T>((resolve, reject) => settlers.push({ resolve, reject })));
  }
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < runs.length) {
      const index = next++;
      const { resolve, reject } = settlers[index]!;
      await runs[index]!().then(resolve, reject);
    }
  };
  for (let i = 0; i < Math.min(lanes, runs.length); i++) void lane();
}
