// The judge on small hand-made logs: each planted driver mistake turns its statement to fail
// with the request as evidence, a clean stream passes, and a broken log is refused with the
// line of the problem.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStatementCatalog } from '../../device-ref/iommu/statements.js';
import { judgeEventLog, type Judgement } from '../judge/judge.js';
import { EventLogError, parseEventLog } from '../log/event-log.js';
import { driverExitCode, driverReport } from '../report/driver-report.js';
import { judgeLog } from '../run.js';
import {
  attach,
  detach,
  EP,
  EP2,
  handLog,
  map,
  MSI,
  NEGOTIATED,
  probe,
  RAM,
  unmap,
} from './support/hand-log.js';

const catalog = loadStatementCatalog();
const PAGE = 0x1000n;

function judge(requests: Uint8Array[], options: Parameters<typeof handLog>[1] = {}): Judgement {
  return judgeEventLog(parseEventLog(handLog(requests, options), 'hand.jsonl'), catalog);
}

function verdict(j: Judgement, id: string) {
  const v = j.verdicts.find((x) => x.statement === id);
  assert.ok(v, `no verdict for ${id}`);
  return v;
}

function exitCode(j: Judgement): number {
  const capture = {
    event: 'capture' as const,
    tool: 't',
    kernel: '6.12.0',
    mode: 'strict',
    startedAt: '2026-01-01T00:00:00Z',
  };
  return driverExitCode(
    driverReport({ capture, judgement: j, durationMs: 1, tool: { name: 't', version: '0' } }),
  );
}

/** What a well-behaved driver sends: probe, attach, map, unmap, detach. */
const clean = (): Uint8Array[] => [
  probe(EP),
  attach(1, EP),
  map(1, 0x10000n, 2n * PAGE, RAM.start),
  map(1, 0x20000n, PAGE, RAM.start + 0x4000n, 1),
  unmap(1, 0x10000n, 2n * PAGE),
  unmap(1, 0x20000n, PAGE),
  detach(1, EP),
];

describe('driver-check replay of hand-made logs', () => {
  it('passes a driver that follows the rules, on every statement its requests reach', () => {
    const j = judge(clean());
    const failed = j.verdicts.filter((v) => v.verdict === 'fail').map((v) => v.statement);
    assert.deepEqual(failed, []);
    for (const id of [
      'drv.init.probe-before-attach',
      'drv.map.virt-end',
      'drv.unmap.first-address',
      'drv.unmap.whole-mappings',
      'drv.resv-mem.no-map',
      'drv.map.mmio-flag',
      'drv.probe.buffer-size',
      'drv.detach.reserved',
    ])
      assert.equal(verdict(j, id).verdict, 'pass', id);
    assert.equal(verdict(j, 'drv.map.virt-end').checked, 2);
    assert.deepEqual(j.observations, []);
    assert.equal(exitCode(j), 0);
  });

  it('names an all-zero request in plain words (the buffer-on-a-vmalloc-stack symptom) and exits 1', () => {
    const j = judge([probe(EP), attach(1, EP), new Uint8Array(20)]);
    assert.equal(j.observations.length, 1);
    const [o] = j.observations;
    assert.equal(o!.kind, 'unserved');
    assert.match(o!.message, /all zero/);
    assert.match(o!.message, /type 0 is no request type/);
    assert.match(o!.message, /vmalloc/);
    assert.match(o!.message, /kmalloc/);
    assert.equal(o!.request?.readable, '00'.repeat(20));
    assert.equal(o!.request?.seq, 3);
    assert.equal(exitCode(j), 1);
  });

  it('drv.unmap.first-address, drv.unmap.last-address: an UNMAP inside a mapping fails both MUSTs, with its bytes', () => {
    const bad = unmap(1, 0x11000n, PAGE);
    const j = judge([probe(EP), attach(1, EP), map(1, 0x10000n, 4n * PAGE, RAM.start), bad]);
    for (const id of ['drv.unmap.first-address', 'drv.unmap.last-address']) {
      const v = verdict(j, id);
      assert.equal(v.verdict, 'fail', id);
      assert.equal(v.violations[0]!.request?.readable, Buffer.from(bad).toString('hex'));
      assert.equal(v.violations[0]!.request?.seq, 4);
    }
    assert.equal(exitCode(j), 1);
  });

  it('drv.unmap.whole-mappings: an UNMAP that covers no mapping is a SHOULD deviation, exit 0', () => {
    const j = judge([probe(EP), attach(1, EP), unmap(1, 0x80000n, PAGE)]);
    assert.equal(verdict(j, 'drv.unmap.whole-mappings').verdict, 'fail');
    assert.equal(exitCode(j), 0);
  });

  it('drv.resv-mem.no-map: a MAP over the MSI window fails', () => {
    const j = judge([probe(EP), attach(1, EP), map(1, MSI.start, PAGE, RAM.start)]);
    const v = verdict(j, 'drv.resv-mem.no-map');
    assert.equal(v.verdict, 'fail');
    assert.match(v.violations[0]!.message, /0xfee00000/);
  });

  it('drv.map.mmio-flag, drv.map.single-memory-type: judged against the guest RAM, untested without it', () => {
    const outside = RAM.end + 1n + 0x1000_0000n;
    const j = judge([
      probe(EP),
      attach(1, EP),
      map(1, 0x10000n, PAGE, outside),
      map(1, 0x20000n, 2n * PAGE, RAM.end + 1n - PAGE),
    ]);
    assert.equal(verdict(j, 'drv.map.mmio-flag').verdict, 'fail');
    assert.equal(verdict(j, 'drv.map.single-memory-type').verdict, 'fail');
    const flagged = judge([probe(EP), attach(1, EP), map(1, 0x10000n, PAGE, outside, 3 | 4)]);
    assert.equal(verdict(flagged, 'drv.map.mmio-flag').verdict, 'pass');
    const noRam = judge(clean(), { ram: false });
    assert.equal(verdict(noRam, 'drv.map.mmio-flag').verdict, 'untested');
  });

  it('drv.init.probe-before-attach: fails without a PROBE, not applicable when F_PROBE was not negotiated', () => {
    const j = judge([attach(1, EP)]);
    assert.equal(verdict(j, 'drv.init.probe-before-attach').verdict, 'fail');
    const noProbe = judge([attach(1, EP)], { negotiated: NEGOTIATED & ~(1n << 4n) });
    const v = verdict(noProbe, 'drv.init.probe-before-attach');
    assert.equal(v.verdict, 'not-applicable');
    assert.match(v.reason, /VIRTIO_IOMMU_F_PROBE/);
    assert.equal(verdict(noProbe, 'drv.features.accept').verdict, 'fail');
  });

  it('drv.attach.reserved, drv.attach.bypass-flag-clear: checked only on the requests they apply to', () => {
    const j = judge([
      probe(EP),
      probe(EP2),
      attach(1, EP),
      attach(1, EP2, 0, 7),
      attach(1, EP2, 1),
    ]);
    assert.equal(verdict(j, 'drv.attach.reserved').verdict, 'fail');
    assert.equal(verdict(j, 'drv.attach.bypass-flag-clear').verdict, 'fail');
    assert.equal(verdict(j, 'drv.attach.bypass-flag-set').verdict, 'untested');
    assert.equal(verdict(judge(clean()), 'drv.attach.bypass-flag-clear').verdict, 'untested');
  });

  it("drv.config.bypass-value, drv.config.bypass-write: judged on the driver's writes to bypass", () => {
    const j = judge(clean(), { bypassWrites: [0, 2] });
    assert.equal(verdict(j, 'drv.config.bypass-value').verdict, 'fail');
    assert.equal(verdict(j, 'drv.config.bypass-write').verdict, 'pass');
    assert.equal(verdict(j, 'drv.config.read-only').verdict, 'untested');
    const withoutBypassConfig = judge(clean(), {
      bypassWrites: [0],
      negotiated: NEGOTIATED & ~(1n << 6n),
    });
    assert.equal(verdict(withoutBypassConfig, 'drv.config.bypass-write').verdict, 'fail');
    assert.equal(verdict(judge(clean()), 'drv.config.read-only').verdict, 'pass');
  });

  it('reports a request of a size no structure has as unserved, and exits 1', () => {
    const short = attach(1, EP).subarray(0, 12);
    const j = judge([probe(EP), short]);
    assert.deepEqual(
      j.observations.map((o) => o.kind),
      ['unserved'],
    );
    assert.match(j.observations[0]!.message, /12 bytes instead of 20/);
    assert.equal(exitCode(j), 1);
  });

  it('says when the captured device answered otherwise than device-ref, and when its trace counts differ', () => {
    const j = judge(clean(), {
      driverResults: { 2: -22 },
      deviceCounts: { attach: 1, detach: 1, map: 1, unmap: 2 },
    });
    assert.deepEqual(
      j.observations.map((o) => o.kind),
      ['device-disagrees', 'device-disagrees'],
    );
    assert.match(
      j.observations[0]!.message,
      /ATTACH: the captured device's reply made the driver return -22, device-ref answers VIRTIO_IOMMU_S_OK/,
    );
    assert.equal(j.observations[0]!.request?.seq, 2);
    assert.match(
      j.observations[1]!.message,
      /built 2 VIRTIO_IOMMU_T_MAP requests and the device's trace shows 1: .*vmalloc/,
    );
    assert.equal(exitCode(j), 0);
  });

  it('gives every driver statement of the spec exactly one verdict, with a reason unless it passed or failed', () => {
    const j = judge(clean());
    const drivers = [...catalog.values()].filter((s) => s.role === 'driver').map((s) => s.id);
    assert.deepEqual(j.verdicts.map((v) => v.statement).sort(), drivers.sort());
    for (const v of j.verdicts) assert.ok(v.reason.length > 0, v.statement);
  });

  it('writes a report that the conformance schema accepts, with the request bytes as evidence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'driver-check-test-'));
    try {
      const events = parseEventLog(handLog([attach(1, EP)]), 'hand.jsonl');
      const { report } = judgeLog(
        events,
        { reportsDir: dir, tool: { name: 't', version: '0' } },
        1,
      );
      assert.equal(report.target.name, 'linux-6.12 (strict)');
      const v = report.verdicts.find((x) => x.statement === 'drv.init.probe-before-attach')!;
      assert.equal(v.verdict, 'fail');
      assert.equal(v.tests[0]!.evidence?.request, Buffer.from(attach(1, EP)).toString('hex'));
      assert.equal(
        v.tests[0]!.evidence?.expected,
        catalog.get('drv.init.probe-before-attach')!.text,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('driver-check event log errors', () => {
  const lines = handLog(clean()).split('\n');

  it('refuses a line cut short, naming the line', () => {
    const cut = [...lines.slice(0, 6), lines[6]!.slice(0, 40), ...lines.slice(7)].join('\n');
    assert.throws(
      () => parseEventLog(cut, 'run.jsonl'),
      (e: Error) =>
        e instanceof EventLogError &&
        /^run\.jsonl:7: not a JSON object/.test(e.message) &&
        /cut short/.test(e.message),
    );
  });

  it('refuses a broken event, naming the line and the field', () => {
    const broken = lines
      .map((l, i) => (i === 7 ? l.replace(/"readable":"[0-9a-f]+"/, '"readable":"zz"') : l))
      .join('\n');
    assert.throws(
      () => parseEventLog(broken, 'run.jsonl'),
      (e: Error) =>
        e instanceof EventLogError &&
        /^run\.jsonl:8: request: \/readable must match pattern/.test(e.message),
    );
  });

  it('refuses requests before the device event, and a log that does not start with capture', () => {
    const [capture, device, ...rest] = lines;
    assert.throws(
      () => parseEventLog([capture, ...rest, device].join('\n'), 'x'),
      /x:5: a request before the "device" event/,
    );
    assert.throws(
      () => parseEventLog(lines.slice(1).join('\n'), 'x'),
      /x:1: the first event must be "capture"/,
    );
    assert.throws(() => parseEventLog('', 'x'), /x: the log is empty/);
  });
});
