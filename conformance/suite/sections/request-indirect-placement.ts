// Where a driver may put an indirect descriptor table. virtio gives alignments for the
// descriptor table and the rings, none for an indirect table: a driver may put one at an
// address that is not even a multiple of 4, across a page boundary, and the request in it
// means what it means anywhere. The request queue is the test's own (transport-steps.ts);
// the one descriptor, the available ring entry and its idx are written here by hand, since
// the suite's queue puts its indirect tables at the start of a slot.

import { VIRTIO_IOMMU_S_OK, statusName } from '../../../dist/ts/index.js';
import { encodeRequest } from '../../driver/requests.js';
import { pollUntil } from '../../qtest/poll.js';
import { ExpectationFailure, toHex } from '../../scenario/expectation.js';
import {
  VIRTIO_F_INDIRECT_DESC,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  featureBit,
} from '../../virtio/constants.js';
import { domainId, needEdu, startDevice } from '../device-steps.js';
import { NotApplicable, SectionTests } from '../harness.js';
import { hex, startOwnQueue } from '../transport-steps.js';

export const section = 'request-layouts';
export const tests = new SectionTests();

const PAGE = 0x1000n;
/**
 * The table starts 2 bytes before a page boundary: the low word of entry 0's `addr`, which is
 * not zero, straddles it (6 bytes before would put only the zero high half across).
 */
const BEFORE_BOUNDARY = 2n;
const USED_WAIT_MS = 1000;

/** One split-ring descriptor: le64 addr, le32 len, le16 flags, le16 next. */
function descriptor(addr: bigint, len: number, flags: number, next = 0): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, addr, true);
  view.setUint32(8, len, true);
  view.setUint16(12, flags, true);
  view.setUint16(14, next, true);
  return bytes;
}

tests.it(
  '[dev.req.status-ok] an ATTACH in an indirect table at an address that is not a multiple of 4 and crosses a page boundary: S_OK',
  async (session) => {
    const ep = needEdu(session);
    if ((session.driver.offered & featureBit(VIRTIO_F_INDIRECT_DESC)) === 0n)
      throw new NotApplicable('needs VIRTIO_F_INDIRECT_DESC: not offered');
    // Brought up once as the driver does, for the domain_range the device enforces.
    await startDevice(session);
    const domain = await domainId(session, 1);
    const { transport, queue } = await startOwnQueue(session, {
      features: featureBit(VIRTIO_F_INDIRECT_DESC),
    });
    const { qtest } = session;
    const { readable, writableLength } = encodeRequest('attach', {
      domain,
      endpoint: BigInt(ep.endpointId),
    });
    const pages = session.memory.allocate(Number(3n * PAGE));
    const request = pages.base;
    const reply = request + 0x100n;
    const table = pages.base + 2n * PAGE - BEFORE_BOUNDARY;
    await qtest.memwrite(request, readable);
    await qtest.memwrite(reply, new Uint8Array(writableLength).fill(0xff));
    await qtest.memwrite(table, descriptor(request, readable.length, VIRTQ_DESC_F_NEXT, 1));
    await qtest.memwrite(table + 16n, descriptor(reply, writableLength, VIRTQ_DESC_F_WRITE));
    const { desc, driver, device } = queue.addresses;
    await qtest.memwrite(desc, descriptor(table, 32, VIRTQ_DESC_F_INDIRECT));
    await qtest.writew(driver + 4n, 0); // avail ring[0]: descriptor 0
    await qtest.writew(driver + 2n, 1); // avail idx
    await transport.notify(queue.index);
    await pollUntil(async () => ((await qtest.readw(device + 2n)) === 1 ? true : undefined), {
      timeoutMs: USED_WAIT_MS,
      what: `the ATTACH in an indirect table at ${hex(table)} to be used`,
    });
    const written = await qtest.memread(reply, writableLength);
    const status = written[writableLength - 4]!;
    if (status !== VIRTIO_IOMMU_S_OK)
      throw new ExpectationFailure({
        request: toHex(readable),
        reply: toHex(written),
        expected: 'status VIRTIO_IOMMU_S_OK',
        message: `ATTACH in a 2-entry indirect table at ${hex(table)} (across the page boundary at ${hex(table + BEFORE_BOUNDARY)}) returned ${statusName(status)}`,
      });
  },
);
