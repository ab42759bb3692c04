// Tests derived from the scenarios: for every scenario that maps, the boundaries of each of
// its mappings are probed (scenario/boundary-probes.ts) and the findings judged per statement:
// dev.translate.formula (bytes inside a mapping that did not arrive from their place),
// dev.isolation.domain (bytes reached outside what the domain maps) and, where a scenario
// maps without MAP_F_WRITE, dev.map.write-protect. One probe run per scenario serves the
// tests of all its statements: the first of them to run does the work on its own device.

import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
} from '../../dist/ts/index.js';
import type { Cases } from '../cases.js';
import { sessionJudge } from '../judge/session-judge.js';
import {
  ISOLATION_DOMAIN,
  TRANSLATE_FORMULA,
  WRITE_PROTECT,
  probeMapping,
  type ProbeFinding,
  type ProbeStatement,
} from '../scenario/boundary-probes.js';
import { DriverView } from '../scenario/driver-view.js';
import { EduRoute } from '../scenario/edu-route.js';
import { ExpectationFailure } from '../scenario/expectation.js';
import { probeScenarioMappings, type ProbeRun } from '../scenario/run-scenario.js';
import type { Session } from '../session.js';
import { expectStatus, needEdu, needFeature, startDevice } from './device-steps.js';
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
      const shared = memoize((session) => probeScenarioMappings(scenario, session));
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

/** `probe`, done once, on the session of the first test that asks. */
function memoize(
  probe: (session: Session) => Promise<ProbeRun>,
): (session: Session) => Promise<ProbeRun> {
  let run: Promise<ProbeRun> | undefined;
  return (session) => (run ??= probe(session));
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

/** Sub-page mappings the sub-page probes make: [virt_start, virt_end] → @ram + offset. */
const SUB_PAGE_MAPPINGS = [
  { virtStart: 0x1010n, virtEnd: 0x102fn, ramOffset: 0x5010n },
  { virtStart: 0x3007n, virtEnd: 0x3008n, ramOffset: 0x7009n },
  { virtStart: 0x4003n, virtEnd: 0x4ffan, ramOffset: 0x9005n },
];

/**
 * Boundary probes of sub-page mappings at odd addresses (32 bytes, two bytes (the smallest
 * range drv.map.virt-end allows), a page minus a few bytes), on devices whose page_size_mask allows them (byte granularity: bit 0).
 * A device that rounds a mapping out to pages, or grants a byte too much, fails.
 */
export function subPageProbeTests(cases: Cases): DerivedTest[] {
  const shared = memoize(probeSubPageMappings);
  const judged: ProbeStatement[] = [TRANSLATE_FORMULA, ISOLATION_DOMAIN];
  return judged.flatMap((id) => {
    const statement = cases.statements.find((s) => s.id === id);
    if (statement === undefined) return [];
    return [
      {
        section: statement.section,
        sectionTitle: statement.sectionTitle,
        title: `[${id}] boundaries of sub-page mappings at odd addresses`,
        statements: [id],
        run: async (session) => judge(id, await shared(session)),
      },
    ];
  });
}

async function probeSubPageMappings(session: Session): Promise<ProbeRun> {
  needFeature(session, VIRTIO_IOMMU_F_MAP_UNMAP, 'F_MAP_UNMAP');
  const edu = needEdu(session);
  const config = await startDevice(session);
  const granule = config.page_size_mask & -config.page_size_mask;
  if (granule !== 1n) {
    return {
      outcome: 'not-applicable',
      reason: `needs byte granularity (page_size_mask bit 0): page_size_mask is 0x${config.page_size_mask.toString(16)}`,
    };
  }
  const view = new DriverView();
  const attach = { domain: 1n, endpoint: BigInt(edu.endpointId) };
  await expectStatus(session, 'attach', attach, [VIRTIO_IOMMU_S_OK]);
  view.apply('attach', attach);
  const route = new EduRoute(session, edu, view);
  const site = { session, edu, route, view, judge: sessionJudge(session) };
  const run = { outcome: 'probed' as const, sets: 0, transfers: 0, findings: [] as ProbeFinding[] };
  for (const m of SUB_PAGE_MAPPINGS) {
    const fields = {
      domain: 1n,
      virt_start: m.virtStart,
      virt_end: m.virtEnd,
      phys_start: session.ram.base + m.ramOffset,
      flags: BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
    };
    try {
      await expectStatus(session, 'map', fields, [VIRTIO_IOMMU_S_OK]);
    } catch (error) {
      if (!(error instanceof ExpectationFailure)) throw error;
      // Refusing a legal MAP is another statement's failure; these probes cannot run.
      return { outcome: 'untested', reason: `a sub-page MAP was refused: ${error.message}` };
    }
    view.apply('map', fields);
    const result = await probeMapping(site, view.everMapped[view.everMapped.length - 1]!);
    if (!result.probed) throw new Untested(result.reason);
    run.sets++;
    run.transfers += result.transfers;
    run.findings.push(...result.findings);
  }
  return run;
}
