// Tests derived from the scenarios: for every scenario that maps, the boundaries of each of
// its mappings are probed (scenario/boundary-probes.ts) and the findings judged per statement:
// dev.translate.formula (bytes inside a mapping that did not arrive from their place),
// dev.isolation.domain (bytes reached outside what the domain maps) and, where a scenario
// maps without MAP_F_WRITE, dev.map.write-protect. One probe run per scenario serves the
// tests of all its statements: the first of them to run does the work on its own device.

import { VIRTIO_IOMMU_MAP_F_WRITE } from '../../dist/ts/index.js';
import type { Scenario } from '../../generator/model.js';
import type { Cases } from '../cases.js';
import {
  ISOLATION_DOMAIN,
  TRANSLATE_FORMULA,
  WRITE_PROTECT,
  type ProbeStatement,
} from '../scenario/boundary-probes.js';
import { ExpectationFailure } from '../scenario/expectation.js';
import { probeScenarioMappings, type ProbeRun } from '../scenario/run-scenario.js';
import type { Session } from '../session.js';
import { NotApplicable, Untested, type DeviceTest } from './harness.js';

export interface DerivedTest {
  section: string;
  sectionTitle: string;
  title: string;
  statements: string[];
  run: DeviceTest;
}

const WRITE = BigInt(VIRTIO_IOMMU_MAP_F_WRITE);

const EXPECTED: Record<ProbeStatement, string> = {
  [TRANSLATE_FORMULA]: 'every byte inside a mapping moves to or from phys_start + (a − virt_start)',
  [ISOLATION_DOMAIN]: 'no byte reaches memory outside what the domain maps',
  [WRITE_PROTECT]: 'no write lands in a range mapped without MAP_F_WRITE',
};

/** The probe tests of every device scenario with a MAP step. */
export function boundaryProbeTests(cases: Cases): DerivedTest[] {
  const tests: DerivedTest[] = [];
  const home = (id: string, fallback: { section: string; sectionTitle: string }) => {
    const statement = cases.statements.find((s) => s.id === id);
    return statement === undefined
      ? fallback
      : { section: statement.section, sectionTitle: statement.sectionTitle };
  };
  for (const statement of cases.statements) {
    if (statement.role !== 'device') continue;
    for (const scenario of statement.scenarios) {
      // MAPs the scenario expects to succeed (S_OK among the statuses it allows).
      const maps = scenario.steps.filter(
        (s) =>
          s.op === 'request' &&
          s.verb === 'map' &&
          (s.expect?.status === undefined || s.expect.status.includes('VIRTIO_IOMMU_S_OK')),
      );
      if (maps.length === 0) continue;
      const readOnly = maps.some((s) => {
        const flags = s.op === 'request' ? s.fields['flags'] : undefined;
        return flags !== undefined && 'num' in flags && (BigInt(flags.num) & WRITE) === 0n;
      });
      const shared = sharedRun(scenario);
      const judged: ProbeStatement[] = [TRANSLATE_FORMULA, ISOLATION_DOMAIN];
      if (readOnly) judged.push(WRITE_PROTECT);
      for (const id of judged) {
        tests.push({
          ...home(id, statement),
          title: `[${id}] boundaries of every MAP of ${scenario.id}`,
          statements: [id],
          run: async (session) => judge(id, await shared(session)),
        });
      }
    }
  }
  return tests;
}

/** The probe run of `scenario`, done once, on the session of the first test that asks. */
function sharedRun(scenario: Scenario): (session: Session) => Promise<ProbeRun> {
  let run: Promise<ProbeRun> | undefined;
  return (session) => (run ??= probeScenarioMappings(scenario, session));
}

function judge(id: ProbeStatement, run: ProbeRun): void {
  if (run.outcome !== 'probed') {
    throw run.outcome === 'not-applicable'
      ? new NotApplicable(run.reason)
      : new Untested(run.reason);
  }
  const mine = run.findings.filter((f) => f.statement === id);
  if (mine.length > 0) {
    throw new ExpectationFailure({
      expected: EXPECTED[id],
      message: `${mine.length} finding${mine.length === 1 ? '' : 's'} in ${run.sets} probe set${run.sets === 1 ? '' : 's'}: ${mine.map((f) => f.text).join('; ')}`,
    });
  }
}
