import assert from 'node:assert/strict';
import { CC, DEVICE_CFG, IOMMU_SLOT, ISR, NOTIFY, TestDriver } from './support/driver.js';
import { ECHO_MAGIC } from './support/echo-device.js';

const VERSION_1 = 1 << 0; // bit 32, in the high word
const RING_RESET = 1 << 8; // bit 40
const INDIRECT = 1 << 28;

describe('virtio-pci transport: common configuration', () => {
  let d: TestDriver;
  beforeEach(() => {
    d = new TestDriver();
    d.assignBars();
  });

  it('offers the model features plus VERSION_1, INDIRECT_DESC, EVENT_IDX and RING_RESET', () => {
    assert.equal(d.read(CC.device_feature, 4), 0x30000077n);
    d.write(CC.device_feature_select, 4, 1);
    assert.equal(d.read(CC.device_feature, 4), BigInt(VERSION_1 | RING_RESET));
    d.write(CC.device_feature_select, 4, 7);
    assert.equal(d.read(CC.device_feature, 4), 0n);
  });

  it('accepts offered features with VERSION_1 at FEATURES_OK and tells the model', () => {
    assert.equal(d.negotiate(0x10000005 | INDIRECT, VERSION_1), 0xb);
    assert.deepEqual(d.model.accepted, [(1n << 32n) | 0x10000005n]);
    d.write(CC.driver_feature_select, 4, 0);
    assert.equal(d.read(CC.driver_feature, 4), 0x10000005n, 'reads back what the driver wrote');
  });

  it('refuses FEATURES_OK when the driver accepts a feature it was not offered', () => {
    assert.equal(d.negotiate(0x8, VERSION_1), 0x3, 'FEATURES_OK stays clear');
    assert.deepEqual(d.model.accepted, []);
    assert.match(
      d.findingMessages().at(-1)!,
      /accepted features it was not offered \(bits 3\); FEATURES_OK refused/,
    );
  });

  it('refuses FEATURES_OK without VIRTIO_F_VERSION_1', () => {
    assert.equal(d.negotiate(0x7, 0), 0x3);
    assert.match(d.findingMessages().at(-1)!, /did not accept VIRTIO_F_VERSION_1/);
    d.write(CC.driver_feature_select, 4, 1);
    d.write(CC.driver_feature, 4, VERSION_1);
    d.write(CC.device_status, 1, 0xb);
    assert.equal(d.read(CC.device_status, 1), 0xbn, 'a corrected driver gets FEATURES_OK');
  });

  it('refuses FEATURES_OK while a feature window past 63 holds bits, and accepts it once cleared', () => {
    d.write(CC.device_status, 1, 0x3);
    d.write(CC.driver_feature_select, 4, 1);
    d.write(CC.driver_feature, 4, VERSION_1);
    d.write(CC.driver_feature_select, 4, 0xffff_ffff);
    d.write(CC.driver_feature, 4, 0x1);
    assert.equal(d.read(CC.driver_feature, 4), 0n, 'no valid bit past 63 reads back');
    d.write(CC.device_status, 1, 0xb);
    assert.equal(d.read(CC.device_status, 1), 0x3n, 'FEATURES_OK stays clear');
    assert.match(d.findingMessages().at(-1)!, /feature bits past 63 .*FEATURES_OK refused/);
    d.write(CC.driver_feature, 4, 0);
    d.write(CC.device_status, 1, 0xb);
    assert.equal(d.read(CC.device_status, 1), 0xbn, 'the window written back to 0 counts no more');
    assert.deepEqual(d.model.accepted, [1n << 32n]);
  });

  it('ignores driver_feature writes after FEATURES_OK and feature words beyond 63', () => {
    d.negotiate(0x7, VERSION_1);
    d.write(CC.driver_feature_select, 4, 0);
    d.write(CC.driver_feature, 4, 0x77);
    assert.equal(d.read(CC.driver_feature, 4), 0x7n);
    assert.match(d.findingMessages().at(-1)!, /driver_feature written after FEATURES_OK/);
    d.write(CC.driver_feature_select, 4, 5);
    assert.equal(d.read(CC.driver_feature, 4), 0n);
  });

  it('resets on device_status 0: registers back to reset values, model reset', () => {
    d.negotiate(0x7, VERSION_1);
    d.write(CC.queue_select, 2, 1);
    d.write(CC.queue_size, 2, 64);
    d.write(CC.device_status, 1, 0);
    assert.equal(d.read(CC.device_status, 1), 0n);
    assert.equal(d.read(CC.queue_select, 2), 0n);
    d.write(CC.queue_select, 2, 1);
    assert.equal(d.read(CC.queue_size, 2), 256n);
    assert.ok(d.model.resets >= 1);
    d.write(CC.driver_feature_select, 4, 1);
    assert.equal(d.read(CC.driver_feature, 4), 0n);
  });

  it('reports status bits cleared without a reset and DRIVER_OK without FEATURES_OK', () => {
    d.write(CC.device_status, 1, 0x3);
    d.write(CC.device_status, 1, 0x1);
    d.write(CC.device_status, 1, 0x5);
    const messages = d.findingMessages();
    assert.ok(messages.some((m) => m.includes('cleared device_status bits 0x2')));
    assert.ok(messages.some((m) => m.includes('DRIVER_OK without FEATURES_OK')));
  });

  it('has no MSI-X: vector fields read NO_VECTOR whatever is written', () => {
    d.write(CC.config_msix_vector, 2, 0);
    assert.equal(d.read(CC.config_msix_vector, 2), 0xffffn);
    d.write(CC.queue_msix_vector, 2, 1);
    assert.equal(d.read(CC.queue_msix_vector, 2), 0xffffn);
  });

  it('describes two queues of 256; an absent queue has size 0', () => {
    assert.equal(d.read(CC.num_queues, 2), 2n);
    for (const [queue, size] of [
      [0, 256n],
      [1, 256n],
      [2, 0n],
    ] as const) {
      d.write(CC.queue_select, 2, queue);
      assert.equal(d.read(CC.queue_size, 2), size);
      assert.equal(d.read(CC.queue_notify_off, 2), BigInt(queue));
      assert.equal(d.read(CC.queue_enable, 2), 0n);
    }
  });

  it('takes a smaller power-of-2 queue_size only; refuses 0, odd sizes, larger sizes', () => {
    d.write(CC.queue_select, 2, 0);
    for (const size of [0, 3, 100, 512]) d.write(CC.queue_size, 2, size);
    assert.equal(d.read(CC.queue_size, 2), 256n);
    assert.equal(
      d.findingMessages().filter((m) => m.includes('is not a power of 2 up to 256')).length,
      4,
    );
    d.write(CC.queue_size, 2, 16);
    assert.equal(d.read(CC.queue_size, 2), 16n);
  });

  it('keeps 64-bit queue addresses as two halves, frozen once enabled', () => {
    d.negotiate(0x7, VERSION_1);
    d.write(CC.queue_desc, 4, 0x10000);
    d.write(CC.queue_desc + 4, 4, 0x1);
    assert.equal(d.read(CC.queue_desc, 8), 0x100010000n, 'readq is split into two readl');
    d.write(CC.queue_desc + 4, 4, 0);
    d.write(CC.queue_driver, 4, 0x11000);
    d.write(CC.queue_device, 4, 0x12000);
    d.write(CC.queue_enable, 2, 1);
    assert.equal(d.read(CC.queue_enable, 2), 1n);
    d.write(CC.queue_desc, 4, 0x20000);
    assert.equal(d.read(CC.queue_desc, 4), 0x10000n);
    assert.match(
      d.findingMessages().at(-1)!,
      /queue_desc written for queue 0 after it was enabled/,
    );
  });

  it('records findings for read-only writes, odd widths and gaps; QEMU-like values', () => {
    d.write(CC.num_queues, 2, 5);
    assert.equal(d.read(CC.num_queues, 2), 2n);
    assert.equal(d.read(CC.device_feature, 2), 0x77n, 'a narrow read gets the low bytes');
    assert.equal(d.read(CC.device_feature + 1, 1), 0n, 'the middle of a field reads 0');
    d.write(CC.queue_enable, 2, 0);
    const messages = d.findingMessages();
    for (const text of [
      'wrote read-only num_queues',
      '2-byte read of device_feature',
      'offset 0x5, which starts no field',
      'queue_enable written with 0',
    ]) {
      assert.ok(
        messages.some((m) => m.includes(text)),
        text,
      );
    }
  });

  it('passes device configuration through to the model; bytes past it read all-ones', () => {
    assert.equal(d.read(DEVICE_CFG, 4), BigInt(ECHO_MAGIC));
    d.write(DEVICE_CFG + 4n, 4, 0x1234);
    assert.equal(d.read(DEVICE_CFG + 4n, 4), 0x1234n);
    assert.equal(d.read(DEVICE_CFG, 8), (0x1234n << 32n) | BigInt(ECHO_MAGIC));
    assert.equal(d.read(DEVICE_CFG + 8n, 4), 0xffffffffn);
  });

  it('bumps config_generation on the first read after a configuration change', () => {
    d.negotiate(0x7, VERSION_1);
    d.write(CC.device_status, 1, 0xf);
    assert.equal(d.read(CC.config_generation, 1), 0n);
    d.board.iommuFunction.transport.configChanged();
    assert.equal(d.read(ISR, 1), 2n, 'ISR bit 1: configuration change');
    d.read(DEVICE_CFG, 4);
    assert.equal(d.read(CC.config_generation, 1), 1n);
    d.read(DEVICE_CFG, 4);
    assert.equal(d.read(CC.config_generation, 1), 1n);
  });

  it('ignores notifications before DRIVER_OK, for absent or disabled queues, without bus mastering', () => {
    d.write(NOTIFY, 2, 0);
    d.write(NOTIFY + 8n, 2, 2);
    d.negotiate(0x7, VERSION_1);
    d.write(CC.device_status, 1, 0xf);
    d.write(NOTIFY, 2, 0);
    d.cfgWrite(IOMMU_SLOT, 0x04, 2, 0x2);
    d.write(CC.queue_select, 2, 0);
    d.write(CC.queue_enable, 2, 1);
    d.write(NOTIFY, 2, 0);
    d.write(NOTIFY + 4n, 4, 3);
    const messages = d.findingMessages();
    for (const text of [
      'queue 0 notified before DRIVER_OK',
      'notification for queue 2, which does not exist',
      'queue 0 notified but not enabled',
      'queue 0 notified while bus mastering is off',
      '4-byte notification for queue 1',
      'notification value 3 written at queue 1',
    ]) {
      assert.ok(
        messages.some((m) => m.includes(text)),
        text,
      );
    }
  });
});
