// Draft statements (`viommu conform --drafts`) apply only to a device that offers their draft's
// feature: a test per draft device statement says not-applicable elsewhere. Where the feature
// is offered the statement stays untested until the suite has a test of it.

import type { Cases } from '../cases.js';
import { NotApplicable, type DefinedTest } from './harness.js';

export interface DraftGateTest extends DefinedTest {
  section: string;
  sectionTitle: string;
}

export function draftGateTests(cases: Cases): DraftGateTest[] {
  const drafts = new Map((cases.drafts ?? []).map((d) => [d.name, d]));
  return cases.statements.flatMap((statement) => {
    const draft = statement.draft === undefined ? undefined : drafts.get(statement.draft);
    if (statement.role !== 'device' || draft === undefined) return [];
    const bit = 1n << BigInt(draft.featureBit);
    return [
      {
        section: statement.section,
        sectionTitle: statement.sectionTitle,
        title: `[${statement.id}] draft ${draft.name}: applies where the device offers ${draft.feature}`,
        statements: [statement.id],
        run: async (session, judgement) => {
          if ((session.driver.offered & bit) === 0n)
            throw new NotApplicable(`draft ${draft.name}: ${draft.feature} is not offered`);
          judgement.untested(statement.id, `draft ${draft.name}: no test of it yet`);
        },
      },
    ];
  });
}
