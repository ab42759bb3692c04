// Draft statements (`viommu conform --drafts`) apply only to a device that offers their draft's
// feature: every test of a draft device statement says not-applicable elsewhere. Where the
// feature is offered, a draft's own tests (sections/draft-*.ts) judge its statements; a
// statement no test covers stays untested.

import type { Draft } from '../../dist/ts/schemas/cases.js';
import type { Cases } from '../cases.js';
import { NotApplicable, type DefinedTest, type DeviceTest } from './harness.js';
import * as lazyIotlbFlush from './sections/draft-lazy-iotlb-flush.js';
import * as lazyRefused from './sections/draft-lazy-refused.js';
import * as probeLimits from './sections/draft-probe-limits.js';

/** The hand-written tests of each draft, by the draft's name. */
const DRAFT_TESTS = [probeLimits, lazyIotlbFlush, lazyRefused];

export interface DraftGateTest extends DefinedTest {
  section: string;
  sectionTitle: string;
}

/** `run`, not applicable unless the device offers `draft`'s feature. */
function gated(draft: Draft, run: DeviceTest): DeviceTest {
  const bit = 1n << BigInt(draft.featureBit);
  return async (session, judgement) => {
    if ((session.driver.offered & bit) === 0n)
      throw new NotApplicable(`draft ${draft.name}: ${draft.feature} is not offered`);
    await run(session, judgement);
  };
}

export function draftGateTests(cases: Cases): DraftGateTest[] {
  const drafts = new Map((cases.drafts ?? []).map((d) => [d.name, d]));
  const statements = new Map(cases.statements.map((s) => [s.id, s]));
  const tested = new Set<string>();
  const own = DRAFT_TESTS.flatMap(({ draft: name, tests }) => {
    const draft = drafts.get(name);
    if (draft === undefined) return [];
    return tests.tests.flatMap((test) => {
      const first = statements.get(test.statements[0] ?? '');
      if (first === undefined) return [];
      test.statements.forEach((id) => tested.add(id));
      return [
        {
          section: first.section,
          sectionTitle: first.sectionTitle,
          title: test.title,
          statements: test.statements,
          run: gated(draft, test.run),
        },
      ];
    });
  });
  const untested = cases.statements.flatMap((statement) => {
    const draft = statement.draft === undefined ? undefined : drafts.get(statement.draft);
    if (statement.role !== 'device' || draft === undefined || tested.has(statement.id)) return [];
    return [
      {
        section: statement.section,
        sectionTitle: statement.sectionTitle,
        title: `[${statement.id}] draft ${draft.name}: applies where the device offers ${draft.feature}`,
        statements: [statement.id],
        run: gated(draft, async (_session, judgement) => {
          judgement.untested(statement.id, `draft ${draft.name}: no test of it yet`);
        }),
      },
    ];
  });
  return [...own, ...untested];
}
