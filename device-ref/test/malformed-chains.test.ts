// Every malformed chain the device can meet: returned with used length 0 and a finding, and
// the next well-formed chain is served. Broken rings set DEVICE_NEEDS_RESET instead.

import assert from 'node:assert/strict';
import { MAX_READABLE_BYTES } from '../virtio/split-virtqueue.js';
import { CC, ISR, TestDriver } from './support/driver.js';
import { readyDevice } from './support/ready-device.js';
import { F_INDIRECT, F_NEXT, F_WRITE, TestQueue, type Descriptor } from './support/virtqueue.js';

const TABLE = 0x400000n;
const NEEDS_RESET = 0x40n;

interface Case {
  name: string;
  chain: Descriptor[];
  indirect?: Descriptor[];
  finding: RegExp;
}

const cases: Case[] = [
  {
    name: 'a next index beyond the descriptor table',
    chain: [{ addr: 0x200000, len: 4, flags: F_NEXT, next: 16 }],
    finding: /next index 16 is beyond the descriptor table \(16 entries\)/,
  },
  {
    name: 'a loop in the descriptor table',
    chain: [
      { addr: 0x200000, len: 4, flags: F_NEXT, next: 1 },
      { addr: 0x200000, len: 4, flags: F_NEXT, next: 0 },
    ],
    finding: /loops in the descriptor table/,
  },
  {
    name: 'a chain longer than the queue size (through an indirect table)',
    chain: [{ addr: TABLE, len: 17 * 16, flags: F_INDIRECT }],
    indirect: Array.from({ length: 17 }, (_, i) => ({
      addr: 0x200000,
      len: 1,
      flags: i < 16 ? F_NEXT : 0,
      next: i + 1,
    })),
    finding: /longer than the queue size \(16\)/,
  },
  {
    name: 'a readable descriptor after a writable one',
    chain: [
      { addr: 0x300000, len: 4, flags: F_WRITE | F_NEXT, next: 1 },
      { addr: 0x200000, len: 4, flags: 0 },
    ],
    finding: /device-readable descriptor table entry 1 follows a device-writable one/,
  },
  {
    name: 'an indirect table inside an indirect table',
    chain: [{ addr: TABLE, len: 32, flags: F_INDIRECT }],
    indirect: [
      { addr: 0x200000, len: 4, flags: F_NEXT, next: 1 },
      { addr: TABLE, len: 32, flags: F_INDIRECT },
    ],
    finding: /indirect table entry 1 refers to another indirect table/,
  },
  {
    name: 'INDIRECT and NEXT on one descriptor',
    chain: [{ addr: TABLE, len: 16, flags: F_INDIRECT | F_NEXT, next: 1 }],
    indirect: [{ addr: 0x200000, len: 4, flags: 0 }],
    finding: /sets both VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT/,
  },
  {
    name: 'an indirect table length that is not a multiple of 16',
    chain: [{ addr: TABLE, len: 24, flags: F_INDIRECT }],
    indirect: [{ addr: 0x200000, len: 4, flags: 0 }],
    finding: /indirect table length 24 is not a non-zero multiple of 16/,
  },
  {
    name: 'an empty indirect table',
    chain: [{ addr: TABLE, len: 0, flags: F_INDIRECT }],
    finding: /indirect table length 0/,
  },
  {
    name: 'an indirect table outside RAM',
    chain: [{ addr: 0xffff000, len: 0x2000, flags: F_INDIRECT }],
    finding: /indirect table 0xffff000\+8192 is outside RAM/,
  },
  {
    name: 'a loop in an indirect table',
    chain: [{ addr: TABLE, len: 32, flags: F_INDIRECT }],
    indirect: [
      { addr: 0x200000, len: 1, flags: F_NEXT, next: 1 },
      { addr: 0x200000, len: 1, flags: F_NEXT, next: 0 },
    ],
    finding: /loops in the indirect table/,
  },
  {
    name: 'a next index beyond an indirect table',
    chain: [{ addr: TABLE, len: 16, flags: F_INDIRECT }],
    indirect: [{ addr: 0x200000, len: 1, flags: F_NEXT, next: 1 }],
    finding: /next index 1 is beyond the indirect table \(1 entries\)/,
  },
  {
    name: 'a buffer outside RAM',
    chain: [{ addr: 0xffffffc, len: 8, flags: 0 }],
    finding: /buffer 0xffffffc\+8 \(descriptor table entry 0\) is outside RAM/,
  },
  {
    name: 'a buffer whose end wraps around 2^64',
    chain: [{ addr: 0xffffffffffffffffn, len: 2, flags: F_WRITE }],
    finding: /buffer 0xffffffffffffffff\+2 .* is outside RAM/,
  },
  {
    name: 'a writable buffer in an MMIO BAR',
    chain: [{ addr: 0xe0000000, len: 4, flags: F_WRITE }],
    finding: /buffer 0xe0000000\+4 .* is outside RAM/,
  },
  {
    name: 'more readable bytes than the device takes',
    chain: [
      { addr: 0x1000000, len: MAX_READABLE_BYTES, flags: F_NEXT, next: 1 },
      { addr: 0x2000000, len: 1, flags: 0 },
    ],
    finding: new RegExp(`more than ${MAX_READABLE_BYTES} device-readable bytes`),
  },
  {
    name: 'more than 2^32 bytes in all',
    chain: [
      { addr: 0, len: 0xfffffff0, flags: F_WRITE | F_NEXT, next: 1 },
      { addr: 0, len: 0x100, flags: F_WRITE },
    ],
    finding: /buffer 0x0\+4294967280 .* is outside RAM/,
  },
];

describe('malformed descriptor chains', () => {
  let d: TestDriver;
  let requests: TestQueue;
  beforeEach(() => {
    d = new TestDriver();
    ({ requests } = readyDevice(d));
  });

  /** A well-formed echo request at descriptors 14-15: proof the device goes on. */
  const serveGoodRequest = (): void => {
    d.ok('writel 0x210000 0xc0ffee');
    requests.writeDescriptors(
      [
        { addr: 0x210000, len: 4, flags: F_NEXT, next: 15 },
        { addr: 0x310000, len: 4, flags: F_WRITE },
      ],
      requests.desc,
      14,
    );
    requests.makeAvailable(14);
    requests.notify();
  };

  for (const c of cases) {
    it(`returns ${c.name} with used length 0 and a finding`, () => {
      if (c.indirect) requests.writeDescriptors(c.indirect, TABLE);
      requests.writeDescriptors(c.chain);
      requests.makeAvailable(0);
      requests.notify();
      assert.equal(requests.usedIdx(), 1);
      assert.deepEqual(requests.usedElement(0), { id: 0, len: 0 });
      const messages = d.findingMessages();
      assert.ok(
        messages.some((m) => c.finding.test(m)),
        `no finding like ${c.finding} in ${JSON.stringify(messages)}`,
      );
      assert.equal(d.read(CC.device_status, 1) & NEEDS_RESET, 0n);
      serveGoodRequest();
      assert.deepEqual(requests.usedElement(1), { id: 14, len: 4 });
      assert.equal(d.value('readl 0x310000'), 0xc0ffeen);
    });
  }

  it('serves an indirect table when INDIRECT_DESC was not negotiated, with a finding', () => {
    d = new TestDriver();
    ({ requests } = readyDevice(d, 0));
    requests.writeDescriptors([{ addr: 0x300000, len: 4, flags: F_WRITE }], TABLE);
    requests.writeDescriptors([{ addr: TABLE, len: 16, flags: F_INDIRECT }]);
    requests.makeAvailable(0);
    requests.notify();
    assert.equal(requests.usedIdx(), 1);
    assert.ok(
      d.findingMessages().some((m) => m.includes('VIRTIO_F_INDIRECT_DESC was not negotiated')),
    );
  });

  describe('broken rings set DEVICE_NEEDS_RESET', () => {
    const expectNeedsReset = (finding: RegExp): void => {
      assert.equal(d.read(CC.device_status, 1), 0x4fn);
      assert.equal(d.read(ISR, 1) & 2n, 2n, 'a configuration change notification');
      assert.ok(
        d.findingMessages().some((m) => finding.test(m)),
        `no finding like ${finding}`,
      );
      serveGoodRequest();
      assert.equal(requests.usedIdx(), 0, 'nothing is served until the driver resets the device');
    };

    it('when the available idx moves by more than the queue size', () => {
      requests.setAvailIdx(17);
      requests.notify();
      expectNeedsReset(/available idx moved from 0 to 17, more than the queue size 16/);
      d.write(CC.device_status, 1, 0);
      assert.equal(d.read(CC.device_status, 1), 0n, 'reset clears it');
      ({ requests } = readyDevice(d));
      serveGoodRequest();
      assert.equal(requests.usedIdx(), 1);
    });

    it('when the available ring names a descriptor beyond the table', () => {
      requests.makeAvailable(16);
      requests.notify();
      expectNeedsReset(/available ring entry 16 is not a descriptor index/);
    });

    it('when the rings lie outside RAM, with findings at enable time too', () => {
      d = new TestDriver();
      d.assignBars();
      d.negotiate(0x7, 1);
      requests = new TestQueue(d, 0, 16, 0xffff000n);
      requests.setUp();
      d.write(CC.device_status, 1, 0xf);
      requests.notify();
      assert.equal(d.read(CC.device_status, 1), 0x4fn);
      const messages = d.findingMessages();
      assert.ok(
        messages.some((m) => /driver area \(queue_driver\) 0x10000000\+38 is outside RAM/.test(m)),
      );
      assert.ok(
        messages.some((m) =>
          /queue 0: driver area 0x10000000 is outside RAM; DEVICE_NEEDS_RESET set/.test(m),
        ),
      );
    });

    it('when the used ring lies outside RAM', () => {
      d = new TestDriver();
      d.assignBars();
      d.negotiate(0x7, 1);
      requests = new TestQueue(d, 0, 16, 0x100000n, { used: 0xfffffc0n });
      requests.setUp();
      d.write(CC.device_status, 1, 0xf);
      requests.writeDescriptors([{ addr: 0x300000, len: 4, flags: F_WRITE }]);
      requests.makeAvailable(0);
      requests.notify();
      assert.equal(d.read(CC.device_status, 1), 0x4fn);
      assert.ok(
        d
          .findingMessages()
          .some((m) => /device area 0xfffffc0 is outside RAM; DEVICE_NEEDS_RESET/.test(m)),
      );
    });
  });

  it('records misaligned ring areas when the queue is enabled', () => {
    d = new TestDriver();
    d.assignBars();
    d.negotiate(0x7, 1);
    // Queue 1 keeps its size (the echo device's 256).
    new TestQueue(d, 1, 256, 0x100008n, { avail: 0x101001n, used: 0x102002n }).setUp();
    const messages = d.findingMessages().join('\n');
    assert.match(messages, /descriptor area \(queue_desc\) at 0x100008 is not 16-byte aligned/);
    assert.match(messages, /driver area \(queue_driver\) at 0x101001 is not 2-byte aligned/);
    assert.match(messages, /device area \(queue_device\) at 0x102002 is not 4-byte aligned/);
  });
});
