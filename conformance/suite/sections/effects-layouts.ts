// Replies whose device-writable part is split over several descriptors: the device must
// write the same bytes, at the same offsets of the writable part, whatever the layout. Each
// split reply is compared with the same request's reply in one descriptor.

import {
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_OK,
  statusName,
} from '../../../dist/ts/index.js';
import type { RequestLayout, RequestResult } from '../../driver/iommu-driver.js';
import type { FieldValues, RequestVerb } from '../../driver/requests.js';
import { toHex } from '../../scenario/expectation.js';
import type { Session } from '../../session.js';
import { domainId, fail, needEdu, needFeature, startDevice } from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'replies-over-several-descriptors';
export const tests = new SectionTests();

const ONE_BYTE_TAIL = [1, 1, 1, 1];

/** Fails unless `result` carries `status` and the bytes of `whole` (the one-descriptor reply). */
function expectSameReply(
  what: string,
  result: RequestResult,
  whole: RequestResult,
  status: number,
): void {
  if (result.status !== status)
    fail(
      `status ${statusName(status)}`,
      `${what}: ${result.status === undefined ? `used length ${result.usedLen}` : statusName(result.status)}`,
      result,
    );
  if (toHex(result.reply) !== toHex(whole.reply) || result.usedLen !== whole.usedLen) {
    const at = result.reply.findIndex((byte, i) => byte !== whole.reply[i]);
    fail(
      'the bytes of the reply in one descriptor, at the same offsets',
      `${what}: used length ${result.usedLen} (${whole.usedLen} in one descriptor), first difference at offset ${at}`,
      result,
    );
  }
}

/** The reply in one descriptor, then in each of `layouts`; each must match it. */
async function compareLayouts(
  session: Session,
  verb: RequestVerb,
  fields: FieldValues,
  layouts: ReadonlyArray<{ name: string; shape: RequestLayout }>,
  status: number,
  reset: () => Promise<void>,
): Promise<void> {
  await reset();
  const whole = await session.driver.request(verb, fields);
  for (const { name, shape } of layouts) {
    await reset();
    const split = await session.driver.request(verb, fields, shape);
    expectSameReply(`${verb.toUpperCase()} with ${name}`, split, whole, status);
  }
}

const TAIL_LAYOUTS = [
  { name: 'the tail one byte per descriptor', shape: { writable: ONE_BYTE_TAIL } },
  {
    name: 'the tail one byte per descriptor in an indirect table',
    shape: { writable: ONE_BYTE_TAIL, layout: 'indirect' as const },
  },
  { name: 'the tail in two descriptors of 3 and 1 bytes', shape: { writable: [3, 1] } },
];

tests.it(
  '[dev.req.status-ok] ATTACH and DETACH with the tail split over several descriptors: S_OK in the first byte',
  async (session) => {
    const edu = needEdu(session);
    await startDevice(session);
    const fields = { domain: await domainId(session), endpoint: BigInt(edu.endpointId) };
    const reset = (): Promise<void> => session.driver.start();
    await compareLayouts(session, 'attach', fields, TAIL_LAYOUTS, VIRTIO_IOMMU_S_OK, reset);
    const attached = async (): Promise<void> => {
      await session.driver.start();
      await session.driver.request('attach', fields);
    };
    await compareLayouts(session, 'detach', fields, TAIL_LAYOUTS, VIRTIO_IOMMU_S_OK, attached);
  },
);

tests.it(
  '[dev.attach.reserved] ATTACH with reserved set and the tail split over several descriptors: S_INVAL in the first byte',
  async (session) => {
    const edu = needEdu(session);
    await startDevice(session);
    const fields = {
      domain: await domainId(session),
      endpoint: BigInt(edu.endpointId),
      reserved: 1n,
    };
    const reset = (): Promise<void> => session.driver.start();
    await compareLayouts(session, 'attach', fields, TAIL_LAYOUTS, VIRTIO_IOMMU_S_INVAL, reset);
  },
);

tests.it(
  '[dev.probe.next-offset] PROBE with the tail in a descriptor of its own, or one byte per descriptor: every property at the same offset',
  async (session) => {
    needFeature(session, VIRTIO_IOMMU_F_PROBE, 'F_PROBE');
    const edu = needEdu(session);
    const { probe_size } = await startDevice(session);
    const head = Math.min(probe_size, 56);
    const layouts = [
      { name: 'the tail in a descriptor of its own', shape: { writable: [probe_size, 4] } },
      {
        name: `the first ${head} bytes of properties and the tail one byte per descriptor`,
        shape: {
          writable: [
            ...Array<number>(head).fill(1),
            ...(probe_size > head ? [probe_size - head] : []),
            ...ONE_BYTE_TAIL,
          ],
          layout: 'indirect' as const,
        },
      },
    ];
    const fields = { endpoint: BigInt(edu.endpointId) };
    await compareLayouts(session, 'probe', fields, layouts, VIRTIO_IOMMU_S_OK, async () => {});
  },
);
