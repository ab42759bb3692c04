// The IOMMU core on the q35 board, end to end: requests travel through split virtqueues and
// the virtio-pci transport, the edu endpoint's DMA goes through the translation, and faults
// arrive in event buffers. Driven by qtest command lines, as a conformance client would.

import assert from 'node:assert/strict';
import {
  decodeFault,
  decodeProbeProperties,
  encodeAttachDriverPart,
  encodeMapDriverPart,
  encodeProbeDriverPart,
  SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_FAULT_F_ADDRESS,
  VIRTIO_IOMMU_FAULT_F_READ,
  VIRTIO_IOMMU_FAULT_R_MAPPING,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_T_ATTACH,
  VIRTIO_IOMMU_T_MAP,
  VIRTIO_IOMMU_T_PROBE,
} from '../../dist/ts/index.js';
import {
  ALL,
  EDU_ENDPOINT,
  head,
  iommuConfigAddress,
  IommuBoardDriver,
} from './support/iommu-board-driver.js';
import { encoded } from './iommu-harness.js';

describe('iommu on the q35 board', () => {
  it('dev.probe.length, dev.probe.zero-fill: PROBE through the transport reports the MSI window', () => {
    const d = new IommuBoardDriver();
    d.start(ALL);
    const probeSize = Number(d.read(iommuConfigAddress('probe_size'), 4));
    const { used, reply } = d.request(
      encoded(SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART, encodeProbeDriverPart, {
        head: head(VIRTIO_IOMMU_T_PROBE),
        endpoint: EDU_ENDPOINT,
        reserved: new Uint8Array(64),
      }),
      probeSize + 4,
    );
    assert.equal(used, probeSize + 4);
    assert.deepEqual(Array.from(reply.subarray(probeSize)), [VIRTIO_IOMMU_S_OK, 0, 0, 0]);
    const [entry, ...rest] = decodeProbeProperties(reply.subarray(0, probeSize));
    assert.deepEqual(rest, []);
    assert.equal(entry?.kind, 'resv_mem');
    assert.deepEqual(
      entry?.kind === 'resv_mem' && [
        entry.property.subtype,
        entry.property.start,
        entry.property.end,
      ],
      [VIRTIO_IOMMU_RESV_MEM_T_MSI, 0xfee0_0000n, 0xfeef_ffffn],
    );
    assert.deepEqual(d.board.findings.entries, []);
  });

  it('dev.attach.effective, dev.fault.endpoint: the edu endpoint reaches what its domain maps, and a fault reaches the event queue', () => {
    const d = new IommuBoardDriver();
    d.start(ALL & ~(1 << VIRTIO_IOMMU_F_PROBE));
    d.events.offer([{ addr: 0x14_0000n, len: 64, writable: true }]);
    const attach = d.request(
      encoded(SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART, encodeAttachDriverPart, {
        head: head(VIRTIO_IOMMU_T_ATTACH),
        domain: 1,
        endpoint: EDU_ENDPOINT,
        flags: 0,
        reserved: new Uint8Array(4),
      }),
      4,
    );
    assert.deepEqual([attach.used, attach.reply[0]], [4, VIRTIO_IOMMU_S_OK]);
    const map = d.request(
      encoded(SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART, encodeMapDriverPart, {
        head: head(VIRTIO_IOMMU_T_MAP),
        domain: 1,
        virt_start: 0x0a00_0000n, // below edu's 28-bit DMA mask
        virt_end: 0x0a00_0fffn,
        phys_start: 0x20_0000n,
        flags: VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE,
      }),
      4,
    );
    assert.deepEqual([map.used, map.reply[0]], [4, VIRTIO_IOMMU_S_OK]);

    const data = Uint8Array.from({ length: 64 }, (_, i) => i * 7);
    d.put(0x20_0100n, data);
    d.eduRead(0x0a00_0100n, 64);
    d.eduWrite(0x0a00_0800n, 64);
    assert.deepEqual(d.bytes(0x20_0800n, 64), data, 'copied through the mapping both ways');

    d.eduRead(0x0a00_1000n, 16);
    assert.deepEqual(d.events.takeUsed(), [24]);
    const fault = decodeFault(d.bytes(0x14_0000n, 24));
    assert.deepEqual(
      [fault.reason, fault.flags, fault.endpoint, fault.address],
      [
        VIRTIO_IOMMU_FAULT_R_MAPPING,
        VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_ADDRESS,
        EDU_ENDPOINT,
        0x0a00_1000n,
      ],
    );
  });

  it('dev.req.unknown-type-used-len: an all-zero request comes back with used length 0 and a finding for the driver', () => {
    const d = new IommuBoardDriver();
    d.start(ALL);
    const { used, reply } = d.request(new Uint8Array(20), 4);
    assert.equal(used, 0);
    assert.deepEqual(Array.from(reply), [0xee, 0xee, 0xee, 0xee]);
    assert.ok(
      d.board.findings.entries.some(
        (f) => f.message.includes('all zero') && f.message.includes('vmalloc'),
      ),
    );
  });

  it('dev.config.bypass-initial: the q35 board starts with bypass = 1, so edu reaches RAM before any ATTACH', () => {
    const d = new IommuBoardDriver();
    d.start(ALL);
    assert.equal(d.read(iommuConfigAddress('bypass'), 1), 1n);
    const data = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
    d.put(0x30_0000n, data);
    d.eduRead(0x30_0000n, 32);
    d.eduWrite(0x30_1000n, 32);
    assert.deepEqual(d.bytes(0x30_1000n, 32), data);
  });
});
