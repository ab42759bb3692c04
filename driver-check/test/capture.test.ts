// The capture parsers on text in the exact forms Linux 6.12's ftrace and QEMU 7.2's trace print.

import assert from 'node:assert/strict';
import { parseGuestChannel } from '../capture/guest-channel.js';
import { parseGuestTrace, TraceFormatError } from '../capture/guest-trace.js';
import { parseQemuTrace } from '../capture/qemu-trace.js';
import { buildEventLog, readableLength } from '../log/build-log.js';
import { parseEventLog, formatEventLog } from '../log/event-log.js';

const words = (first: string): string => `{${[first, ...Array(15).fill('0x0')].join(',')}}`;

const TRACE = [
  '# tracer: nop',
  '#',
  '# entries-in-buffer/entries-written: 5/5   #P:1',
  '            init-1       [000] .....     1.792330: tracing_mark_write: phase load',
  `    kworker/u4:1-29      [000] d..1.     1.838845: req: (__viommu_add_req+0x0/0x280 [virtio_iommu]) len=588 writeback=1 buf=${words('0x1000000005')}`,
  `    insmod-129           [000] d..2.     1.870847: req: (__viommu_add_req+0x0/0x280 [virtio_iommu]) len=40 writeback=0 buf=${words('0x3')}`,
  '    kworker/u4:1-29      [000] .N...     1.839785: sync: (viommu_probe_device+0x128/0x3b0 [virtio_iommu] <- viommu_send_req_sync) ret=-22',
  '            init-1       [000] .....     2.212912: tracing_mark_write: phase end',
].join('\r\n');

const QEMU = [
  'virtio_iommu_get_features device supports features=0x10179000077',
  'virtio_iommu_init_iommu_mr init virtio-iommu-memory-region-2-16',
  'virtio_iommu_get_config page_size_mask=0xfffffffffffff000 input range start=0x0 input range end=0xffffffffffffffff domain range start=0 domain range end=-1 probe_size=0x200 bypass=0x1',
  'virtio_iommu_fill_resv_property dev= 16, type=1 start=0xfee00000 end=0xfeefffff',
  'virtio_iommu_fill_resv_property dev= 16, type=1 start=0xfee00000 end=0xfeefffff',
  'virtio_iommu_map domain=0 virt_start=0xffffe000 virt_end=0xffffffff phys_start=0x2640000 flags=3',
].join('\n');

describe('driver-check capture parsers', () => {
  it("reads the guest's requests, their bytes, the driver's result and the phases", () => {
    const trace = parseGuestTrace(TRACE);
    assert.deepEqual(trace.entries, { inBuffer: 5, written: 5 });
    assert.equal(trace.requests.length, 2);
    const [probe, map] = trace.requests;
    assert.deepEqual([...probe!.bytes.subarray(0, 8)], [5, 0, 0, 0, 0x10, 0, 0, 0]);
    assert.equal(probe!.length, 588);
    assert.equal(
      probe!.driverResult,
      -22,
      'the return pairs with the waiting PROBE, not the MAP after it',
    );
    assert.equal(map!.writeback, false);
    assert.equal(map!.driverResult, undefined);
    assert.deepEqual(
      trace.phases.map((p) => p.name),
      ['load', 'end'],
    );
  });

  it('names the line of a trace line it cannot read', () => {
    const cut = TRACE.split('\r\n');
    cut[4] = cut[4]!.slice(0, 150);
    assert.throws(
      () => parseGuestTrace(cut.join('\n')),
      (e: Error) => e instanceof TraceFormatError && /^guest trace line 5: /.test(e.message),
    );
  });

  it("reads QEMU's configuration, endpoints and reserved regions; domain range end -1 is 0xffffffff", () => {
    const side = parseQemuTrace(QEMU);
    assert.equal(side.offeredFeatures, 0x10179000077n);
    assert.deepEqual(side.config?.domain_range, { start: 0, end: 0xffff_ffff });
    assert.equal(side.config?.probe_size, 512);
    assert.deepEqual(side.endpoints, [16]);
    assert.equal(side.reservedRegions.length, 2);
    assert.equal(side.counts.map, 1);
  });

  it('splits a PROBE buffer as the driver does: probe_size bytes of properties and the tail are writable', () => {
    assert.equal(readableLength(5, 588, 512), 72);
    assert.equal(readableLength(3, 40, 512), 36);
  });

  it('builds a log the schema accepts, each reserved region once, requests in trace order', () => {
    const channel = parseGuestChannel(
      [
        '@@viommu features',
        `${'1110111'.padEnd(32, '0')}1${'0'.repeat(31)}`,
        '@@viommu ram',
        '00100000-1ffdffff : System RAM',
        '@@viommu trace',
        TRACE,
        '@@viommu end',
      ].join('\r\n'),
    );
    assert.equal(channel.negotiatedFeatures, 0x1_0000_0077n);
    const events = buildEventLog({
      meta: { tool: 't', kernel: '6.12.0', mode: 'strict', startedAt: '2026-01-01T00:00:00Z' },
      qemu: parseQemuTrace(QEMU),
      guest: channel,
      trace: parseGuestTrace(channel.trace),
    });
    const parsed = parseEventLog(formatEventLog(events), 'built');
    assert.equal(parsed.filter((e) => e.event === 'reserved-region').length, 1);
    assert.deepEqual(
      parsed.filter((e) => e.event === 'request' || e.event === 'phase').map((e) => e.event),
      ['phase', 'request', 'request', 'phase'],
    );
  });

  it('refuses a guest whose trace lost events', () => {
    const lost = TRACE.replace('5/5', '5/9');
    const channel = { negotiatedFeatures: 0x77n, ram: [], trace: lost };
    assert.throws(
      () =>
        buildEventLog({
          meta: { tool: 't', kernel: 'k', mode: 'm', startedAt: 's' },
          qemu: parseQemuTrace(QEMU),
          guest: channel,
          trace: parseGuestTrace(lost),
        }),
      /lost events \(5 kept of 9\)/,
    );
  });
});
