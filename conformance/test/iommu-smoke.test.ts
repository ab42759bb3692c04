// End to end on QEMU, in raw bytes (the typed IOMMU driver comes with the generated codecs):
// the stack qtest → PCI → virtio-pci → split virtqueue drives virtio-iommu, and edu's DMA
// shows that mappings take effect and that a missing mapping faults.

import assert from 'node:assert/strict';
import { EduDevice, type StagingPage } from '../edu/edu.js';
import { GuestMemory, suiteRegion } from '../memory/guest-memory.js';
import { PciBus } from '../pci/bus.js';
import { QEMU_RAM_SIZE } from '../targets/qemu.js';
import { featureBit } from '../virtio/constants.js';
import type { VirtioPciTransport } from '../virtio/pci-transport.js';
import { SplitVirtqueue, type UsedBuffer } from '../virtio/split-virtqueue.js';
import { attachRequest, openVirtioIommu } from './support/virtio-iommu.js';
import { qemuPerTest } from './support/qemu-per-test.js';

const F_MAP_UNMAP = featureBit(2);
const T_MAP = 3;
const MAP_F_READ = 1;
const MAP_F_WRITE = 2;
const S_OK = 0;
const FAULT_R_MAPPING = 2;
const FAULT_F_ADDRESS = 0x100;
const DOMAIN = 1;
const IOVA = 0x10_0000n;

/** MAP, device-readable part (36 bytes): head, domain, virt_start, virt_end, phys_start, flags. */
function mapRequest(
  virtStart: bigint,
  virtEnd: bigint,
  physStart: bigint,
  flags: number,
): Uint8Array {
  const bytes = Buffer.alloc(36);
  bytes[0] = T_MAP;
  bytes.writeUInt32LE(DOMAIN, 4);
  bytes.writeBigUInt64LE(virtStart, 8);
  bytes.writeBigUInt64LE(virtEnd, 16);
  bytes.writeBigUInt64LE(physStart, 24);
  bytes.writeUInt32LE(flags, 32);
  return bytes;
}

interface Fault {
  reason: number;
  reserved: number[];
  flags: number;
  endpoint: number;
  reserved1: number;
  address: bigint;
}

function decodeFault(used: UsedBuffer): Fault {
  const bytes = Buffer.from(used.writtenBytes);
  return {
    reason: bytes[0]!,
    reserved: [...bytes.subarray(1, 4)],
    flags: bytes.readUInt32LE(4),
    endpoint: bytes.readUInt32LE(8),
    reserved1: bytes.readUInt32LE(12),
    address: bytes.readBigUInt64LE(16),
  };
}

describe('virtio-iommu end to end in raw bytes (real QEMU)', () => {
  const qemu = qemuPerTest();
  let transport: VirtioPciTransport;
  let edu: EduDevice;
  let memory: GuestMemory;
  let requests: SplitVirtqueue;
  let events: SplitVirtqueue;

  /** Sends a request whose device-writable part is the 4-byte tail; returns the tail. */
  async function send(readable: Uint8Array): Promise<{ usedLen: number; tail: number[] }> {
    const used = await requests.submit({
      segments: [
        { writable: false, bytes: readable },
        { writable: true, length: 4 },
      ],
    });
    return { usedLen: used.usedLen, tail: [...used.writtenBytes] };
  }

  beforeEach(async () => {
    const bus = new PciBus(qemu.qtest);
    transport = await openVirtioIommu(qemu.qtest, bus);
    edu = await EduDevice.open(bus);
    memory = new GuestMemory(suiteRegion(QEMU_RAM_SIZE));
    await transport.reset();
    await transport.negotiate(F_MAP_UNMAP);
    requests = await SplitVirtqueue.create(transport, 0, memory.allocate(0x10_0000));
    events = await SplitVirtqueue.create(transport, 1, memory.allocate(0x10_0000));
    await transport.driverOk();
    for (let i = 0; i < 8; i++) await events.post({ segments: [{ writable: true, length: 64 }] });
    await events.notify();
  });

  it('ATTACHes edu to a domain: status OK in a 4-byte tail', async () => {
    assert.deepEqual(await send(attachRequest(DOMAIN, edu.endpointId)), {
      usedLen: 4,
      tail: [S_OK, 0, 0, 0],
    });
  });

  it('MAPs an IOVA page: edu DMA through it lands on the physical page, both ways', async () => {
    // Fill edu's buffer while edu is still in bypass: staging IOVA = its physical address.
    const stagingPage = memory.allocate(0x1000);
    const staging: StagingPage = { iova: stagingPage.base, phys: stagingPage.base, size: 0x1000 };
    const pattern = Uint8Array.from({ length: 256 }, (_, i) => (i * 7 + 3) & 0xff);
    await edu.loadBuffer(pattern, staging);

    const page = memory.allocate(0x1000).base;
    await qemu.qtest.memset(page, 0x1000, 0);
    await qemu.qtest.memset(IOVA, 0x1000, 0); // what an identity access would hit instead
    assert.deepEqual(await send(attachRequest(DOMAIN, edu.endpointId)), {
      usedLen: 4,
      tail: [0, 0, 0, 0],
    });
    const flags = MAP_F_READ | MAP_F_WRITE;
    assert.deepEqual(await send(mapRequest(IOVA, IOVA + 0xfffn, page, flags)), {
      usedLen: 4,
      tail: [S_OK, 0, 0, 0],
    });
    // Keep the staging page reachable inside the domain: map it to itself.
    const identity = mapRequest(staging.iova, staging.iova + 0xfffn, staging.phys, flags);
    assert.equal((await send(identity)).tail[0], S_OK);

    await edu.fromDevice(IOVA + 0x10n, pattern.length);
    assert.deepEqual(await qemu.qtest.memread(page + 0x10n, pattern.length), pattern);
    assert.deepEqual(await qemu.qtest.memread(IOVA, 0x200), new Uint8Array(0x200), 'not identity');

    const back = Uint8Array.from(pattern, (byte) => byte ^ 0x5a);
    await qemu.qtest.memwrite(page + 0x800n, back);
    assert.deepEqual(await edu.dmaRead(IOVA + 0x800n, back.length, staging), back);
    assert.deepEqual(await events.collectUsed(), [], 'no faults');
  });

  it('does not let edu reach an unmapped IOVA and reports MAPPING faults on the eventq', async () => {
    assert.equal((await send(attachRequest(DOMAIN, edu.endpointId))).tail[0], S_OK);
    const unmapped = 0x8_0000n; // low RAM, never the suite's
    await qemu.qtest.memset(unmapped, 0x1000, 0x5a);

    await edu.fromDevice(unmapped, 4); // edu's buffer holds zeros
    assert.deepEqual([...(await qemu.qtest.memread(unmapped, 8))], new Array(8).fill(0x5a));
    const [write] = await events.waitUsed(1);
    assert.equal(write!.usedLen, 24);
    const fault = decodeFault(write!);
    assert.equal(fault.reason, FAULT_R_MAPPING);
    assert.deepEqual(fault.reserved, [0, 0, 0]);
    assert.equal(fault.flags & FAULT_F_ADDRESS, FAULT_F_ADDRESS);
    assert.equal(fault.endpoint, edu.endpointId);
    assert.equal(fault.reserved1, 0);
    assert.equal(fault.address, unmapped);

    await edu.toDevice(unmapped + 0x100n, 4);
    const [read] = await events.waitUsed(1);
    assert.equal(decodeFault(read!).reason, FAULT_R_MAPPING);
    assert.equal(decodeFault(read!).address, unmapped + 0x100n);
  });
});
