// Draft lazy-iotlb-flush: ATTACH requests with VIRTIO_IOMMU_ATTACH_F_LAZY that the device must
// refuse by the spec's own ATTACH rules (an endpoint that does not exist, reserved bytes not
// zero). The flag does not change those rules: the request is refused with its status and
// leaves nothing behind, so the domain it names still does not exist (IOTLB_FLUSH of it:
// S_NOENT), and the device goes on working (a lazy ATTACH of @ep succeeds). Gated like the
// draft's other tests (draft-gate.ts).

import {
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  statusName,
} from '../../../dist/ts/index.js';
import type { RequestResult } from '../../driver/iommu-driver.js';
import type { FieldValues } from '../../driver/requests.js';
import { toHex } from '../../scenario/expectation.js';
import { domainId, needEdu, nonexistentEndpoint } from '../device-steps.js';
import { draftConstant as constant } from '../draft-constants.js';
import { SectionTests, type Judgement } from '../harness.js';
import { iotlbFlush, startLazy } from './draft-lazy-iotlb-flush.js';

export const draft = 'lazy-iotlb-flush';
export const tests = new SectionTests();

/** Fails `statement` unless `result` carries `status`. */
function expectReply(
  judgement: Judgement,
  statement: string,
  result: RequestResult,
  what: string,
  status: number,
): void {
  if (result.status === status) return;
  const got =
    result.status === undefined ? `used length ${result.usedLen}` : statusName(result.status);
  judgement.fail(statement, {
    request: toHex(result.request),
    reply: toHex(result.reply),
    expected: `status ${statusName(status)}`,
    message: `${what} returned ${got}`,
  });
}

tests.it(
  '[dev.attach.noent] [dev.attach.reserved] with VIRTIO_IOMMU_ATTACH_F_LAZY too, an ATTACH of an endpoint that does not exist or with reserved bytes set is refused and creates no domain',
  async (session, judgement) => {
    const edu = needEdu(session);
    await startLazy(session);
    const lazy = BigInt(constant('VIRTIO_IOMMU_ATTACH_F_LAZY'));
    const cases: {
      statement: string;
      domain: bigint;
      fields: FieldValues;
      status: number;
      what: string;
    }[] = [
      {
        statement: 'dev.attach.noent',
        domain: await domainId(session, 2),
        fields: { endpoint: await nonexistentEndpoint(session) },
        status: VIRTIO_IOMMU_S_NOENT,
        what: 'a lazy ATTACH of an endpoint that does not exist',
      },
      {
        statement: 'dev.attach.reserved',
        domain: await domainId(session, 3),
        fields: { endpoint: BigInt(edu.endpointId), reserved: 1n },
        status: VIRTIO_IOMMU_S_INVAL,
        what: 'a lazy ATTACH with reserved bytes set',
      },
    ];
    for (const { statement, domain, fields, status, what } of cases) {
      const result = await session.driver.request('attach', { domain, flags: lazy, ...fields });
      expectReply(judgement, statement, result, `${what} (domain ${domain})`, status);
      expectReply(
        judgement,
        statement,
        await iotlbFlush(session, domain),
        `IOTLB_FLUSH of domain ${domain} after ${what}, refused`,
        VIRTIO_IOMMU_S_NOENT,
      );
    }
    // The device still works: a lazy ATTACH of @ep succeeds.
    const domain = await domainId(session, 1);
    expectReply(
      judgement,
      'dev.attach.noent',
      await session.driver.request('attach', {
        domain,
        endpoint: BigInt(edu.endpointId),
        flags: lazy,
      }),
      `a lazy ATTACH of @ep to domain ${domain} after the refused ones`,
      VIRTIO_IOMMU_S_OK,
    );
  },
);
