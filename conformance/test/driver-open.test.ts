// IommuDriver.open() on device-ref, command by command: what it pipelines together (each round
// trip saved is one per test of a run) and the order the device must see.

import assert from 'node:assert/strict';
import { VIRTIO_PCI_COMMON_CFG } from '../../dist/ts/index.js';
import { IommuDriver } from '../driver/iommu-driver.js';
import { GuestMemory, suiteRegion } from '../memory/guest-memory.js';
import type { QtestClient } from '../qtest/client.js';
import { RefServer, RefTarget } from '../targets/ref.js';
import { recordCommands, type SentCommand } from './support/command-turns.js';
import { usePrivateTmpdir } from './support/private-tmpdir.js';

const hex = (value: bigint): string => `0x${value.toString(16)}`;

describe('IommuDriver.open() on device-ref', function () {
  this.timeout(30_000);
  usePrivateTmpdir('viommu-driver-open-test-');
  let server: RefServer;
  let target: RefTarget;
  let qtest: QtestClient;
  let driver: IommuDriver;
  let sent: SentCommand[];

  before(async () => {
    server = new RefServer();
    target = new RefTarget(server);
    qtest = await target.start();
    const recorder = recordCommands(qtest);
    try {
      driver = await IommuDriver.open(qtest, new GuestMemory(suiteRegion(target.ramSize)));
    } finally {
      recorder.stop();
    }
    sent = recorder.sent;
  });
  after(async () => {
    await target.close();
    await server.close();
  });

  /** The index of the last command sent with this line; -1 if none. */
  const lastIndex = (line: string): number => sent.map((c) => c.line).lastIndexOf(line);

  it('reads the capability list head once, in the pipeline that turns decoding on', () => {
    const { bus, device, function: fn } = driver.transport.device.address;
    const select = (offset: number): string =>
      `outl 0xcf8 ${hex(BigInt((0x8000_0000 | (bus << 16) | (device << 11) | (fn << 8) | offset) >>> 0))}`;
    // A config access is the address written to 0xcf8, then the data port: find the pair.
    const accesses = (offset: number, data: RegExp): number[] =>
      sent.flatMap((c, i) =>
        c.line === select(offset) && data.test(sent[i + 1]?.line ?? '') ? [i + 1] : [],
      );
    const commandWrites = accesses(0x04, /^outw 0xcfc /);
    const statusReads = accesses(0x04, /^inw 0xcfe$/);
    const pointerReads = accesses(0x34, /^inb 0xcfc$/);
    assert.equal(statusReads.length, 1, 'Status read once');
    assert.equal(pointerReads.length, 1, 'the first pointer read once');
    const decodingOn = commandWrites.at(-1)!;
    for (const read of [statusReads[0]!, pointerReads[0]!]) {
      assert.ok(read > decodingOn, 'after decoding is turned on');
      assert.equal(sent[read]!.repliesBefore, sent[decodingOn]!.repliesBefore, 'one round trip');
    }
  });

  it('resets the device in the pipeline that reads every queue_enable, after those reads', () => {
    const common = driver.transport.common.base;
    const enable = `readw ${hex(common + BigInt(VIRTIO_PCI_COMMON_CFG.queue_enable.offset))}`;
    const status = common + BigInt(VIRTIO_PCI_COMMON_CFG.device_status.offset);
    const lastEnable = lastIndex(enable);
    const reset = lastIndex(`writeb ${hex(status)} 0x0`);
    assert.ok(lastEnable >= 0 && reset >= 0, 'both were sent');
    assert.equal(driver.powerOnQueueEnables.length, 2);
    assert.ok(reset > lastEnable, 'the reset comes after the last queue_enable read');
    assert.equal(sent[reset]!.repliesBefore, sent[lastEnable]!.repliesBefore, 'one round trip');
    // The reset's status read follows in the same round trip; device-ref resets at once.
    assert.equal(sent[reset + 1]!.line, `readb ${hex(status)}`);
    assert.equal(sent[reset + 1]!.repliesBefore, sent[reset]!.repliesBefore);
  });
});
