// Typed requests: field values by path land in the generated layout, byte arrays take numbers
// little-endian, and values that do not fit are refused.

import assert from 'node:assert/strict';
import { configFieldPlace } from '../driver/device-config.js';
import { FieldError, encodeRequest, writableLength } from '../driver/requests.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('typed requests', () => {
  it('encodes ATTACH with head.type set by the verb and reserved[4] as little-endian', () => {
    const { readable, writableLength: room } = encodeRequest('attach', {
      domain: 1n,
      endpoint: 0x10n,
      reserved: 0x1000000n,
    });
    assert.equal(hex(readable), '0100000001000000100000000000000000000001');
    assert.equal(room, 4);
  });

  it('gives every request bytes of its own, zero where no field sets them', () => {
    // More requests than one arena of request bytes holds (64 KiB, 24 bytes each).
    const sent = Array.from({ length: 3000 }, (_, i) =>
      encodeRequest(i % 2 === 0 ? 'attach' : 'detach', { domain: BigInt(i), endpoint: 0xffn }),
    );
    const blank = encodeRequest('attach', {});
    sent.forEach(({ readable }, i) => {
      assert.equal(readable.length, 20);
      assert.equal(readable[0], i % 2 === 0 ? 1 : 2, `request ${i}: head.type`);
      assert.equal(new DataView(readable.buffer, readable.byteOffset).getUint32(4, true), i);
      assert.equal(readable[8], 0xff);
    });
    assert.equal(hex(blank.readable), '0100000000000000000000000000000000000000');
  });

  it('lets head.type and head.reserved be overridden', () => {
    const { readable } = encodeRequest('detach', {
      'head.type': 0x40n,
      'head.reserved': 0xffffffn,
    });
    assert.equal(hex(readable.subarray(0, 4)), '40ffffff');
  });

  it('gives PROBE room for probe_size bytes of properties and the tail', () => {
    assert.equal(writableLength('probe', 512), 516);
    assert.equal(encodeRequest('probe', { endpoint: 8n }).readable.length, 72);
  });

  it('refuses an unknown field and a value too large for its bytes', () => {
    assert.throws(() => encodeRequest('map', { reserved: 1n }), FieldError);
    assert.throws(
      () => encodeRequest('attach', { 'head.reserved': 0x1000000n }),
      /does not fit the 3 bytes/,
    );
    assert.throws(() => encodeRequest('attach', { 'tail.status': 1n }), FieldError);
  });

  it('finds configuration fields where the generated encoder puts them', () => {
    assert.deepEqual(configFieldPlace('bypass'), { offset: 36, size: 1 });
    assert.deepEqual(configFieldPlace('probe_size'), { offset: 32, size: 4 });
    assert.deepEqual(configFieldPlace('input_range.end'), { offset: 16, size: 8 });
  });
});
