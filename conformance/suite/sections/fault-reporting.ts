// Device requirements: Fault reporting. Faults come from edu reading an unmapped IOVA.

import {
  SIZEOF_VIRTIO_IOMMU_FAULT,
  VIRTIO_IOMMU_FAULT_F_ADDRESS,
  VIRTIO_IOMMU_FAULT_F_READ,
  VIRTIO_IOMMU_FAULT_F_WRITE,
  encodeFault,
  type Fault,
} from '../../../dist/ts/index.js';
import { toHex } from '../../scenario/expectation.js';
import { FAULT_WAIT_MS } from '../../scenario/dma-step.js';
import {
  fail,
  provokeMappingFault,
  reportedFaults,
  startWithEndpointAttached,
} from '../device-steps.js';
import { SectionTests } from '../harness.js';
import type { Session } from '../../session.js';

export const section = 'device-requirements-fault-reporting';
export const tests = new SectionTests();

function faultBytes(fault: Fault): { reply: Uint8Array } {
  const reply = new Uint8Array(SIZEOF_VIRTIO_IOMMU_FAULT);
  encodeFault(reply, fault);
  return { reply };
}

tests.it(
  '[dev.fault.reserved] fault reports carry zeroes in reserved and reserved1',
  async (session) => {
    const { faults } = await provokeMappingFault(session);
    for (const fault of faults) {
      if (fault.reserved.some((byte) => byte !== 0) || fault.reserved1 !== 0) {
        fail(
          'reserved 000000, reserved1 0',
          `reserved ${Buffer.from(fault.reserved).toString('hex')}, reserved1 0x${fault.reserved1.toString(16)}`,
          faultBytes(fault),
        );
      }
    }
  },
);

tests.it(
  '[dev.fault.undefined-flags] fault reports set no undefined flag bits',
  async (session) => {
    const { faults } = await provokeMappingFault(session);
    const defined =
      VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_WRITE | VIRTIO_IOMMU_FAULT_F_ADDRESS;
    for (const fault of faults) {
      if ((fault.flags & ~defined) !== 0)
        fail(
          `flags within 0x${defined.toString(16)}`,
          `flags 0x${fault.flags.toString(16)}`,
          faultBytes(fault),
        );
    }
  },
);

tests.it(
  '[dev.fault.address-optional] MAY leave F_ADDRESS clear: if so, address is not written',
  async (session, judgement) => {
    const { iova, faults } = await provokeMappingFault(session);
    const without = faults.filter((f) => (f.flags & VIRTIO_IOMMU_FAULT_F_ADDRESS) === 0);
    // Event buffers start zeroed: an address written without F_ADDRESS is the option done wrong.
    const written = without.find((f) => f.address !== 0n);
    if (written !== undefined) {
      judgement.fail('dev.fault.address-optional', {
        expected: 'address left unwritten (0) when F_ADDRESS is clear',
        message: `F_ADDRESS clear with address 0x${written.address.toString(16)}`,
        reply: toHex(faultBytes(written).reply),
      });
      return;
    }
    if (without.length > 0) {
      judgement.option(
        'dev.fault.address-optional',
        'present',
        'fault reports leave F_ADDRESS clear',
      );
      return;
    }
    // With F_ADDRESS, address is the faulting one; no statement of this section says so, so
    // a wrong one is a note, not a failure of this MAY.
    const wrong = faults.find((f) => f.address < iova || f.address >= iova + 4n);
    judgement.option(
      'dev.fault.address-optional',
      'absent',
      wrong === undefined
        ? `fault reports set F_ADDRESS with the faulting address 0x${iova.toString(16)}`
        : `fault reports set F_ADDRESS; note: address 0x${wrong.address.toString(16)} is not the faulting 0x${iova.toString(16)}+4`,
    );
  },
);

tests.it(
  '[dev.fault.single-buffer] a fault report too large for the buffers is not spread over several',
  async (session) => {
    const { edu, iova } = await startWithEndpointAttached(session, { count: 8, size: 8 });
    await edu.toDevice(iova(0x1000n), 1); // one access: at most one fault
    const used = await session.driver.waitEvents(2, FAULT_WAIT_MS);
    // Buffers returned unwritten (used length 0) carry no part of a report.
    const carrying = used.filter((u) => u.usedLen > 0);
    if (carrying.length > 1) {
      const parts = carrying.map((u) => `${u.usedLen}:${Buffer.from(u.bytes).toString('hex')}`);
      fail(
        'at most one buffer per fault',
        `${carrying.length} 8-byte buffers written for one 1-byte access (used length:bytes) ${parts.join(' ')}`,
      );
    }
  },
);

/** @ep, attached to an empty domain, reads or writes 4 bytes at an IOVA off the 4-byte grid. */
async function unalignedFaults(
  session: Session,
  access: 'read' | 'write',
): Promise<{ iova: bigint; faults: Fault[] }> {
  const { edu, iova: at } = await startWithEndpointAttached(session);
  const iova = at(0x1000n) + 0x7b3n;
  if (access === 'read') await edu.toDevice(iova, 4);
  else await edu.fromDevice(iova, 4);
  return { iova, faults: await reportedFaults(session) };
}

tests.it(
  '[dev.fault.address-optional] a fault at an unaligned IOVA reports that exact address, not one rounded down',
  async (session) => {
    const { iova, faults } = await unalignedFaults(session, 'read');
    const withAddress = faults.filter((f) => (f.flags & VIRTIO_IOMMU_FAULT_F_ADDRESS) !== 0);
    if (withAddress.length === 0) return; // the address is optional
    const outside = withAddress.find((f) => f.address < iova || f.address >= iova + 4n);
    if (outside !== undefined)
      fail(
        `addresses within 0x${iova.toString(16)}+4`,
        `a read of 4 bytes at 0x${iova.toString(16)} reported F_ADDRESS with address 0x${outside.address.toString(16)}`,
        faultBytes(outside),
      );
    const first = withAddress.reduce((a, b) => (b.address < a.address ? b : a));
    if (first.address !== iova)
      fail(
        `the first faulting byte, 0x${iova.toString(16)}`,
        `a read of 4 bytes at 0x${iova.toString(16)} reported no fault there; the lowest address reported is 0x${first.address.toString(16)}`,
        faultBytes(first),
      );
  },
);

for (const access of ['read', 'write'] as const) {
  tests.it(
    `[dev.fault.flags-access] a fault of a ${access} does not say it was a ${access === 'read' ? 'write' : 'read'}`,
    async (session) => {
      const { iova, faults } = await unalignedFaults(session, access);
      const wrong = access === 'read' ? VIRTIO_IOMMU_FAULT_F_WRITE : VIRTIO_IOMMU_FAULT_F_READ;
      const liar = faults.find((f) => (f.flags & wrong) !== 0);
      if (liar !== undefined)
        fail(
          `no ${access === 'read' ? 'F_WRITE' : 'F_READ'} in flags`,
          `a ${access} of 4 bytes at 0x${iova.toString(16)} reported flags 0x${liar.flags.toString(16)}`,
          faultBytes(liar),
        );
    },
  );
}

tests.it(
  '[dev.fault.reported-once] a fault that waited for an event buffer is reported at most once when two buffers arrive and a second fault is made',
  async (session) => {
    const { edu, iova } = await startWithEndpointAttached(session, { count: 0, size: 64 });
    const waited = iova(0x1000n);
    const later = iova(0x2000n);
    await edu.toDevice(waited, 4); // no event buffer free: the device waits or drops the event
    await session.driver.postEventBuffers(2);
    await edu.toDevice(later, 4);
    // Two faults happened, one access each. A device may drop the first; neither goes into two
    // buffers. (Reports without F_ADDRESS are told apart by their number only.)
    const faults = (await reportedFaults(session)).filter(
      (f) =>
        f.address === waited ||
        f.address === later ||
        (f.flags & VIRTIO_IOMMU_FAULT_F_ADDRESS) === 0,
    );
    const expected = `one report per fault: at most one at 0x${waited.toString(16)} (made while no buffer was free) and one at 0x${later.toString(16)}`;
    const found = `${faults.length} reports, addresses ${faults.map((f) => `0x${f.address.toString(16)}`).join(', ')}`;
    // Two faults were made: a third report repeats one of them, whatever its address says.
    if (faults.length > 2)
      fail(expected, `${found}: more reports than faults`, faultBytes(faults[2]!));
    const seen = new Set<bigint>();
    for (const fault of faults) {
      if ((fault.flags & VIRTIO_IOMMU_FAULT_F_ADDRESS) === 0) continue;
      if (seen.has(fault.address))
        fail(expected, `${found}: the same event reported again`, faultBytes(fault));
      seen.add(fault.address);
    }
  },
);
