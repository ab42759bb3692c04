import assert from 'node:assert/strict';
import { FindingLog } from '../platform/findings.js';
import { GuestRam } from '../platform/guest-ram.js';
import type { DescriptorChain } from '../virtio/device-model.js';
import { SplitVirtqueue } from '../virtio/split-virtqueue.js';
import { CC, EDU_SLOT, IOMMU_SLOT, ISR, TestDriver } from './support/driver.js';
import { F_EVENT_IDX, readyDevice } from './support/ready-device.js';
import { F_INDIRECT, F_NEXT, F_WRITE, hexData, TestQueue } from './support/virtqueue.js';

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (seed + i * 7) & 0xff);

describe('split virtqueue processing', () => {
  let d: TestDriver;
  let requests: TestQueue;
  let events: TestQueue;
  beforeEach(() => {
    d = new TestDriver();
    ({ requests, events } = readyDevice(d));
  });

  const read = (address: number, length: number) => d.cmd(`read ${address} ${length}`).slice(5);

  it('gathers a request from many readable descriptors and scatters the reply over many writable ones', () => {
    const parts = [1, 2, 3, 4, 5].map((n, i) => ({
      address: 0x200000 + i * 0x100,
      data: bytes(n, i * 16),
    }));
    for (const part of parts)
      d.ok(`write ${part.address} ${part.data.length} ${hexData(part.data)}`);
    const outputs = [3, 3, 3, 100].map((len, i) => ({ address: 0x300000 + i * 0x200, len }));
    requests.writeDescriptors([
      ...parts.map((part, i) => ({
        addr: part.address,
        len: part.data.length,
        flags: F_NEXT,
        next: i + 1,
      })),
      ...outputs.map((out, i) => ({
        addr: out.address,
        len: out.len,
        flags: F_WRITE | (i < outputs.length - 1 ? F_NEXT : 0),
        next: parts.length + i + 1,
      })),
    ]);
    requests.makeAvailable(0);
    requests.notify();
    assert.equal(requests.usedIdx(), 1);
    assert.deepEqual(requests.usedElement(0), { id: 0, len: 15 });
    const all = Buffer.concat(parts.map((part) => part.data)).toString('hex');
    assert.equal(read(outputs[0]!.address, 3), all.slice(0, 6));
    assert.equal(read(outputs[1]!.address, 3), all.slice(6, 12));
    assert.equal(read(outputs[2]!.address, 3), all.slice(12, 18));
    assert.equal(
      read(outputs[3]!.address, 7),
      all.slice(18, 30) + '00',
      'only 6 bytes reached the last buffer',
    );
  });

  it('follows an indirect table, alone or after direct descriptors', () => {
    d.ok(`write 0x200000 8 ${hexData(bytes(8, 1))}`);
    const table = 0x400000n;
    requests.writeDescriptors(
      [
        { addr: 0x200004, len: 4, flags: F_NEXT, next: 1 },
        { addr: 0x300000, len: 2, flags: F_WRITE | F_NEXT, next: 2 },
        { addr: 0x300010, len: 16, flags: F_WRITE },
      ],
      table,
    );
    requests.writeDescriptors([
      { addr: table, len: 48, flags: F_INDIRECT },
      { addr: 0x200000, len: 4, flags: F_NEXT, next: 2 },
      { addr: table, len: 48, flags: F_INDIRECT | F_WRITE },
    ]);
    requests.makeAvailable(0);
    requests.makeAvailable(1);
    requests.notify();
    assert.equal(requests.usedIdx(), 2);
    assert.deepEqual(requests.usedElement(0), { id: 0, len: 4 });
    assert.deepEqual(
      requests.usedElement(1),
      { id: 1, len: 8 },
      'the WRITE flag on the table descriptor is ignored',
    );
    assert.equal(read(0x300000, 2), Buffer.from(bytes(8, 1).subarray(0, 2)).toString('hex'));
    assert.equal(read(0x300010, 6), Buffer.from(bytes(8, 1).subarray(2, 8)).toString('hex'));
  });

  it('serves many chains per notification and wraps around the rings', () => {
    for (let round = 0; round < 40; round++) {
      const head = (round * 5) % 16;
      d.ok(`writel ${0x200000 + head * 4} ${round}`);
      const next = (head + 1) % 16;
      requests.writeDescriptors(
        [{ addr: 0x200000 + head * 4, len: 4, flags: F_NEXT, next }],
        requests.desc,
        head,
      );
      requests.writeDescriptors(
        [{ addr: 0x300000 + round * 4, len: 4, flags: F_WRITE }],
        requests.desc,
        next,
      );
      requests.makeAvailable(head);
      if (round % 3 === 2 || round === 39) requests.notify();
    }
    assert.equal(requests.usedIdx(), 40);
    for (let round = 0; round < 40; round++) {
      assert.equal(d.value(`readl ${0x300000 + round * 4}`), BigInt(round));
      assert.deepEqual(requests.usedElement(round), { id: (round * 5) % 16, len: 4 });
    }
  });

  it('sets ISR bit 0 and the INTx status bit on a used buffer; reading ISR clears both', () => {
    requests.writeDescriptors([{ addr: 0x300000, len: 4, flags: F_WRITE }]);
    requests.makeAvailable(0);
    requests.notify();
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x06, 2) & 0x08, 0x08);
    assert.equal(d.read(ISR, 1), 1n);
    assert.equal(d.read(ISR, 1), 0n);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x06, 2) & 0x08, 0);
  });

  it('honours VIRTQ_AVAIL_F_NO_INTERRUPT without EVENT_IDX', () => {
    d.ok(`writew ${requests.avail} 1`);
    requests.writeDescriptors([{ addr: 0x300000, len: 4, flags: F_WRITE }]);
    requests.makeAvailable(0);
    requests.notify();
    assert.equal(requests.usedIdx(), 1);
    assert.equal(d.read(ISR, 1), 0n);
  });

  it('with EVENT_IDX: publishes avail_event and notifies only when used idx passes used_event', () => {
    d = new TestDriver();
    ({ requests } = readyDevice(d, F_EVENT_IDX));
    const usedEvent = requests.avail + 4n + 2n * 16n;
    const availEvent = requests.used + 4n + 8n * 16n;
    d.ok(`writew ${usedEvent} 1`);
    requests.writeDescriptors([{ addr: 0x300000, len: 4, flags: F_WRITE }]);
    requests.makeAvailable(0);
    requests.notify();
    assert.equal(d.value(`readw ${availEvent}`), 1n);
    assert.equal(d.read(ISR, 1), 0n, 'used idx 0 → 1 does not pass used_event 1');
    requests.makeAvailable(0);
    requests.notify();
    assert.equal(d.value(`readw ${availEvent}`), 2n);
    assert.equal(d.read(ISR, 1), 1n, 'used idx 1 → 2 passes used_event 1');
  });

  it('lets the model fill an event buffer later, outside any notification', () => {
    events.writeDescriptors([
      { addr: 0x500000, len: 8, flags: F_WRITE },
      { addr: 0x500100, len: 8, flags: F_WRITE },
    ]);
    events.makeAvailable(0);
    events.makeAvailable(1);
    events.notify();
    assert.equal(events.usedIdx(), 0, 'buffers are held');
    assert.equal(d.model.emitEvent(Uint8Array.of(1, 2, 3)), true);
    assert.equal(events.usedIdx(), 1);
    assert.deepEqual(events.usedElement(0), { id: 0, len: 3 });
    assert.equal(read(0x500000, 4), '01020300');
  });

  it('drops a push of a chain popped before a reset, and rejects model bugs', () => {
    const queue = d.board.iommuFunction.transport.queue(1);
    events.writeDescriptors([{ addr: 0x500000, len: 8, flags: F_WRITE }]);
    events.makeAvailable(0);
    const chain = queue.pop()!;
    assert.throws(
      () => queue.push(chain, new Uint8Array(9)),
      /9 bytes do not fit the 8 writable bytes/,
    );
    assert.throws(
      () => d.board.iommuFunction.transport.queue(0).push(chain, new Uint8Array(1)),
      /not popped from this queue/,
    );
    const forged: DescriptorChain = { readable: new Uint8Array(0), writableLength: 8 };
    assert.throws(() => queue.push(forged, new Uint8Array(1)), /not popped from this queue/);
    queue.push(chain, Uint8Array.of(7));
    assert.throws(() => queue.push(chain, Uint8Array.of(7)), /already pushed/);
    events.makeAvailable(0);
    const stale = queue.pop()!;
    d.write(CC.device_status, 1, 0);
    queue.push(stale, Uint8Array.of(9));
    assert.equal(
      d.value(`readw ${events.used + 2n}`),
      1n,
      'only the first push reached the used ring',
    );
  });

  it('resets one queue through queue_reset (VIRTIO_F_RING_RESET)', () => {
    d.write(CC.queue_select, 2, 0);
    d.write(CC.queue_reset, 2, 1);
    assert.equal(d.read(CC.queue_reset, 2), 0n);
    assert.equal(d.read(CC.queue_enable, 2), 0n);
    assert.equal(d.read(CC.queue_size, 2), 256n);
    assert.equal(d.read(CC.queue_desc, 4), 0n);
    const again = new TestQueue(d, 0, 16, 0x600000n);
    again.setUp();
    again.writeDescriptors([{ addr: 0x300000, len: 4, flags: F_WRITE }]);
    again.makeAvailable(0);
    again.notify();
    assert.equal(again.usedIdx(), 1, 'the re-enabled queue starts from index 0');
  });

  it('needs bus mastering for the rings: notifications are refused while it is off', () => {
    d.cfgWrite(IOMMU_SLOT, 0x04, 2, 0x2);
    requests.writeDescriptors([{ addr: 0x300000, len: 4, flags: F_WRITE }]);
    requests.makeAvailable(0);
    requests.notify();
    assert.equal(requests.usedIdx(), 0);
    d.cfgWrite(IOMMU_SLOT, 0x04, 2, 0x6);
    requests.notify();
    assert.equal(requests.usedIdx(), 1);
    assert.equal(d.cfgRead(EDU_SLOT, 0x04, 2), 0x6);
  });

  it('gives every chain its own copy of its readable bytes, kept while later chains are popped', () => {
    // Copies are cut from shared blocks of 64 KiB: four chains of 30,000 bytes span two
    // blocks, and the first must still hold its bytes once the fourth is popped.
    const ram = new GuestRam(0x100_0000);
    const queue = new SplitVirtqueue(0, 16, {
      ram,
      findings: new FindingLog(),
      deviceLive: () => true,
      negotiated: () => false,
      needsReset: (reason) => assert.fail(reason),
      notifyUsed: () => {},
    });
    queue.desc = 0x1000n;
    queue.driver = 0x2000n;
    queue.device = 0x3000n;
    queue.enable();
    const patterns = [0, 1, 2, 3].map((i) => bytes(30_000, 11 * i + 1));
    patterns.forEach((pattern, i) => {
      const address = 0x10_0000 + 0x1_0000 * i;
      ram.write(address, pattern);
      const descriptor = new DataView(new ArrayBuffer(16));
      descriptor.setBigUint64(0, BigInt(address), true);
      descriptor.setUint32(8, pattern.length, true);
      ram.write(0x1000 + 16 * i, new Uint8Array(descriptor.buffer));
      ram.writeU16(0x2004 + 2 * i, i);
    });
    ram.writeU16(0x2002, patterns.length);
    const chains = patterns.map(() => queue.pop()!);
    assert.equal(queue.pop(), null);
    chains.forEach((chain, i) => {
      assert.equal(chain.readable.length, 30_000, `chain ${i}: length`);
      assert.ok(Buffer.from(chain.readable).equals(patterns[i]!), `chain ${i}: bytes`);
    });
  });
});
