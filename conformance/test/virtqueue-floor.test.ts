import assert from 'node:assert/strict';
import { requestResult } from '../driver/replies.js';
import { PollTimeoutError } from '../qtest/poll.js';
import {
  SplitVirtqueue,
  VirtqueueError,
  type VirtqueueRequest,
} from '../virtio/split-virtqueue.js';
import { FakeQueueDevice, RAM_BASE } from './support/fake-queue-device.js';

/** An ATTACH-sized request: 20 device-readable bytes, a 4-byte device-writable tail. */
const REQUEST: VirtqueueRequest = {
  segments: [
    { writable: false, bytes: new Uint8Array(20).fill(0x11) },
    { writable: true, length: 4 },
  ],
};
const FILL = new Uint8Array(4).fill(0xff);
const ZEROS = new Uint8Array(4);

describe('a request at the floor (split virtqueue against a fake device that misbehaves on purpose)', () => {
  let device: FakeQueueDevice;
  let queue: SplitVirtqueue;

  beforeEach(async () => {
    device = await FakeQueueDevice.start();
    queue = await SplitVirtqueue.create(
      device.host,
      0,
      { base: BigInt(RAM_BASE), size: 0x1_0000 },
      { timeoutMs: 300 },
    );
  });
  afterEach(() => device.close());

  it('sends a request as one pipeline (writes, notify, one read) and hands back what the device wrote', async () => {
    await queue.submit(REQUEST); // the first also writes the descriptors and the avail entry
    const lines = device.lines.length;
    const chunks = device.chunks;
    const used = await queue.submit(REQUEST);
    const sent = device.lines.slice(lines).map((line) => line.split(' ')[0]);
    // One b64write carries the request and avail->flags and ->idx; then the notify, the read.
    assert.deepEqual(sent, ['b64write', 'writew', 'b64read']);
    assert.equal(device.chunks - chunks, 1, 'all three in one write');
    assert.deepEqual(used.writtenBytes, ZEROS);
    assert.equal(used.usedLen, 4);
  });

  it('records no ring finding for a device that writes only the device-writable bytes', async () => {
    await queue.submit(REQUEST);
    await queue.submit({ segments: REQUEST.segments, layout: 'indirect' });
    assert.deepEqual(device.ringFindings, []);
    assert.deepEqual(await queue.driverRingChanges(), []);
  });

  it('records a ring finding (dev.vq.readable-untouched) when the device writes into a device-readable buffer', async () => {
    device.behaviour.scribble = true;
    const used = await queue.submit(REQUEST);
    assert.deepEqual(used.writtenBytes, ZEROS, 'the reply is still handed back');
    assert.equal(device.ringFindings.length, 1);
    const [finding] = device.ringFindings;
    assert.match(
      finding!.message,
      /wrote to the device-readable part of the buffer at head \d+ \(slot bytes 0x0-0x0, direct layout\)/,
    );
    assert.deepEqual(finding!.written, new Uint8Array(20).fill(0x11));
    assert.deepEqual(finding!.found, Uint8Array.from([0xee, ...new Uint8Array(19).fill(0x11)]));
  });

  it('reads the descriptor table and the available ring back, and names an entry the device changed', async () => {
    await queue.submit(REQUEST);
    const entry = Number(queue.addresses.desc) + 8 - RAM_BASE;
    device.ram[entry] = (device.ram[entry]! + 1) & 0xff;
    const changes = await queue.driverRingChanges();
    assert.equal(changes.length, 1);
    assert.match(
      changes[0]!,
      /^descriptor table entry \d+ reads [0-9a-f]{32}, the driver wrote [0-9a-f]{32}$/,
    );
  });

  it('puts a request too large for the small first slot in another slot, its avail idx written apart', async () => {
    const large: VirtqueueRequest = {
      segments: [
        { writable: false, bytes: new Uint8Array(20).fill(0x11) },
        { writable: true, length: 256 },
      ],
    };
    await queue.submit(large);
    const lines = device.lines.length;
    const used = await queue.submit(large);
    const sent = device.lines.slice(lines).map((line) => line.split(' ')[0]);
    assert.deepEqual(sent, ['b64write', 'writew', 'writew', 'b64read']);
    assert.deepEqual(used.writtenBytes, new Uint8Array(256));
  });

  it("keeps avail->flags as last written through the queue when a request's write carries them", async () => {
    const flagsAt = Number(queue.addresses.driver) - RAM_BASE;
    await queue.writeAvailFlags(1);
    for (let round = 0; round < 3; round++) {
      const used = await queue.submit(REQUEST);
      assert.deepEqual(used.writtenBytes, ZEROS);
      assert.equal(device.ram[flagsAt], 1, `round ${round}: avail->flags`);
      assert.equal(device.ram[flagsAt + 2], round + 1, `round ${round}: avail->idx`);
    }
    await queue.writeAvailFlags(0);
    await queue.submit(REQUEST);
    assert.equal(device.ram[flagsAt], 0);
  });

  it('serves requests that are out together from the slot before the avail ring and the ones after it', async () => {
    const heads = await Promise.all([
      queue.post(REQUEST),
      queue.post(REQUEST),
      queue.post(REQUEST),
    ]);
    await queue.notify();
    const used = await queue.waitUsed(3);
    assert.deepEqual(used.map((u) => u.head).sort(), [...heads].sort());
    for (const u of used) assert.deepEqual(u.writtenBytes, ZEROS);
  });

  it('sends a batch in one pipeline (its writes, one notify, one look) and hands back each reply in order', async () => {
    const requests = [1, 2, 3].map((n): VirtqueueRequest => ({
      segments: [
        { writable: false, bytes: new Uint8Array(8).fill(n) },
        { writable: true, length: 4 * n },
      ],
    }));
    await queue.submitAll(requests);
    const lines = device.lines.length;
    const chunks = device.chunks;
    const used = await queue.submitAll(requests);
    const sent = device.lines.slice(lines).map((line) => line.split(' ')[0]);
    assert.deepEqual(sent.slice(-2), ['writew', 'b64read'], 'the notify, then one look');
    assert.equal(sent.filter((command) => command === 'b64read').length, 1, sent.join(' '));
    assert.equal(device.chunks - chunks, 1, 'all in one write');
    used.forEach((u, i) => {
      assert.equal(u.request, requests[i]);
      assert.deepEqual(u.writtenBytes, new Uint8Array(4 * (i + 1)));
    });
    assert.deepEqual(device.ringFindings, [], 'every slot read back as written');
  });

  it('waits for a batch the device returns late, and refuses one that does not fit', async () => {
    device.behaviour.timing = { kind: 'after-ms', ms: 40 };
    const used = await queue.submitAll([REQUEST, REQUEST]);
    assert.deepEqual(
      used.map((u) => u.writtenBytes),
      [ZEROS, ZEROS],
    );
    device.behaviour.timing = { kind: 'at-notify' };
    const tooMany = Array.from({ length: 17 }, () => REQUEST);
    await assert.rejects(queue.submitAll(tooMany), /queue 0: 2 descriptors needed, 0 free/);
    // The ones that fitted were announced: the device returns them.
    assert.equal((await queue.waitUsed(8)).length, 8);
  });

  it('posts a batch with its writes put together: one per run of table entries, avail entries and slots', async () => {
    // Slots of 64 bytes, each filled by one device-writable buffer: the event queue's shape.
    const events = await SplitVirtqueue.create(
      device.host,
      1,
      { base: BigInt(RAM_BASE + 0x1_0000), size: 0x2000 },
      { slotSize: 64, timeoutMs: 300 },
    );
    const buffer: VirtqueueRequest = { segments: [{ writable: true, length: 64 }] };
    const lines = device.lines.length;
    const heads = await events.postAll(Array.from({ length: 8 }, () => buffer));
    assert.deepEqual(heads, [0, 1, 2, 3, 4, 5, 6, 7]);
    const sent = device.lines.slice(lines).map((line) => line.split(' ').slice(0, 3));
    const { desc, driver } = events.addresses;
    const hex = (address: bigint | number): string => `0x${address.toString(16)}`;
    // The table entries, the avail ring entries (entry 0 already holds head 0), the seven slots
    // after the avail ring, then the first slot with avail->flags and avail->idx.
    assert.deepEqual(
      sent.map(([command, , length]) => `${command} ${length}`),
      ['b64write 128', 'b64write 14', 'b64write 448', 'b64write 68'],
    );
    assert.equal(sent[0]![1], hex(desc));
    assert.equal(sent[1]![1], hex(driver + 6n));
    assert.equal(sent[3]![1], hex(driver - 64n));
    await events.notify();
    const used = await events.waitUsed(8);
    assert.deepEqual(
      used.map((u) => u.head).sort((a, b) => a - b),
      heads,
    );
    for (const u of used) assert.deepEqual(u.writtenBytes, new Uint8Array(64));
  });

  it('leaves a table entry between the ones a batch changes as it is (a write of the device shows)', async () => {
    const single: VirtqueueRequest = {
      segments: [{ writable: true, length: 64 }],
      layout: 'single',
    };
    await queue.submitAll([single, single, single]); // heads 0, 1, 2, back in that order
    // Two descriptors from the free list's end, 2 → 1, outstanding; 0 and 3 are left for the batch.
    await queue.post(REQUEST);
    const entry = Number(queue.addresses.desc) + 16 * 1 + 8 - RAM_BASE;
    device.ram[entry] ^= 0x01; // the device changes descriptor 1's length
    assert.deepEqual(await queue.postAll([single, single]), [0, 3]);
    const changes = await queue.driverRingChanges();
    assert.equal(changes.length, 1, changes.join('; '));
    assert.match(changes[0]!, /^descriptor table entry 1 reads /);
  });

  it('refuses a used element whose id is not a buffer it posted', async () => {
    device.behaviour.idShift = 1;
    await assert.rejects(queue.submit(REQUEST), (error: unknown) => {
      assert.ok(error instanceof VirtqueueError, String(error));
      assert.match(error.message, /device returned id 1, which is not outstanding/);
      return true;
    });
  });

  it('refuses a used->idx that moved further than the buffers outstanding', async () => {
    device.behaviour.extraUsed = 1;
    await assert.rejects(
      queue.submit(REQUEST),
      /queue 0: used->idx moved by 2 with only 1 buffers outstanding/,
    );
  });

  it('reads a slot beyond the first look at the used ring on its own, and checks it all the same', async () => {
    // Slots of 64 KiB: a second request out at once lies beyond what one look reads.
    const wide = await SplitVirtqueue.create(
      device.host,
      1,
      { base: BigInt(RAM_BASE + 0x1_0000), size: 0x3_0000 },
      { slotSize: 0x1_0000, timeoutMs: 300 },
    );
    const large = (fill: number): VirtqueueRequest => ({
      segments: [
        { writable: false, bytes: new Uint8Array(20).fill(fill) },
        { writable: true, length: 256 },
      ],
    });
    device.behaviour.scribble = true;
    const lines = device.lines.length;
    const used = await Promise.all([wide.submit(large(1)), wide.submit(large(2))]);
    for (const u of used) assert.deepEqual(u.writtenBytes, new Uint8Array(256));
    const reads = device.lines.slice(lines).filter((line) => line.startsWith('b64read'));
    assert.ok(
      reads.some((line) => line.endsWith(' 276')),
      `a read of one slot's 276 bytes among ${reads.join(', ')}`,
    );
    assert.deepEqual(
      device.ringFindings.map((finding) => finding.found[0]),
      [0xee, 0xee],
      'the device-readable bytes of both slots checked',
    );
  });

  it('reports the used length the device gave, and no status when it does not cover the tail', async () => {
    device.behaviour.usedLen = 2;
    const used = await queue.submit(REQUEST);
    assert.equal(used.usedLen, 2);
    const result = requestResult(new Uint8Array(20), 4, used);
    assert.equal(result.status, undefined);
    device.behaviour.usedLen = 12;
    assert.equal((await queue.submit(REQUEST)).usedLen, 12);
  });

  for (const commands of [0, 1, 2, 3]) {
    it(`reads the reply only once the device used it (device done ${commands} command(s) after the notify)`, async () => {
      device.behaviour.timing = { kind: 'after-commands', commands };
      for (let round = 0; round < 3; round++) {
        const used = await queue.submit(REQUEST);
        assert.deepEqual(used.writtenBytes, ZEROS, `round ${round}: the device's reply`);
        assert.equal(used.usedLen, 4);
      }
    });
  }

  it('waits for a device that answers late (40 ms after the notify), looking again until it has', async () => {
    device.behaviour.timing = { kind: 'after-ms', ms: 40 };
    const used = await queue.submit(REQUEST);
    const looks = device.lines.filter((line) => line.startsWith('b64read')).length;
    assert.ok(looks > 1, `${looks} look(s) at the used ring`);
    assert.deepEqual(used.writtenBytes, ZEROS);
    // A buffer the device never used is not taken for a reply: the slot still holds the fill.
    assert.notDeepEqual(used.writtenBytes, FILL);
  });

  it('gives up on a device that never answers, at the deadline', async () => {
    device.behaviour.timing = { kind: 'never' };
    const began = performance.now();
    await assert.rejects(queue.submit(REQUEST), PollTimeoutError);
    assert.ok(performance.now() - began >= 300);
    assert.equal(queue.outstanding, 1);
  });

  it('passes an IRQ line that comes among the replies to its listeners, and the reply to the request', async () => {
    device.behaviour.irq = true;
    const irqs: string[] = [];
    device.client.onIrq((event) => irqs.push(event.line));
    const used = await queue.submit(REQUEST);
    assert.deepEqual(used.writtenBytes, ZEROS);
    assert.deepEqual(irqs, ['IRQ raise 10']);
  });

  it('keeps replies apart when several requests are in flight', async () => {
    const requests = [1, 2, 3].map((n): VirtqueueRequest => ({
      segments: [
        { writable: false, bytes: new Uint8Array(8).fill(n) },
        { writable: true, length: 4 * n },
      ],
    }));
    const used = await Promise.all(requests.map((request) => queue.submit(request)));
    used.forEach((u, i) => {
      assert.equal(u.request, requests[i]);
      assert.equal(u.usedLen, 4 * (i + 1));
      assert.deepEqual(u.writtenBytes, new Uint8Array(4 * (i + 1)));
    });
  });
});
