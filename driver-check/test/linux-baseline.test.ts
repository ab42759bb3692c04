// One real boot of Debian's linux-image-6.12-amd64 in strict mode under QEMU, judged, and its
// verdicts compared with driver-check/baselines/linux-6.12-strict.json: a verdict that
// changes fails until the baseline is updated on purpose. The capture is also checked against
// QEMU's own trace: every request QEMU accepted was captured, teardown included.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../generator/paths.js';
import { checkReport } from '../../conformance/report/read.js';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { readEventLog, type LoggedEvent } from '../log/event-log.js';

const CLI = join(packageRoot, 'build', 'cli', 'viommu.js');

interface Baseline {
  kernel: string;
  mode: string;
  verdicts: Record<string, string>;
  observations: string[];
}

const baseline = JSON.parse(
  await readFile(join(packageRoot, 'driver-check', 'baselines', 'linux-6.12-strict.json'), 'utf8'),
) as Baseline;

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'driver-check', ...args], {
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (failed.code !== 1)
      throw new Error(`viommu driver-check could not run: ${failed.stderr ?? String(error)}`);
    return { code: 1, stdout: failed.stdout ?? '' };
  }
}

const observationShape = (o: { kind: string; message: string }): string =>
  `${o.kind}: ${o.message.replace(/\d+ requests/, 'N requests')}`;

describe("driver-check of Debian's Linux 6.12 in strict mode against its baseline", function () {
  this.timeout(600_000);
  let dir: string;
  let run: { code: number; stdout: string };
  let report: ConformanceReport;
  let events: LoggedEvent[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'viommu-driver-check-'));
    run = await cli([
      '--mode',
      'strict',
      '--save-log',
      join(dir, 'strict.jsonl'),
      '--reports',
      dir,
    ]);
    report = checkReport(
      JSON.parse(await readFile(join(dir, 'linux-6.12-strict.json'), 'utf8')),
      'linux-6.12-strict.json',
    );
    events = readEventLog(join(dir, 'strict.jsonl'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives every driver statement the verdict the baseline records', () => {
    const now = Object.fromEntries(report.verdicts.map((v) => [v.statement, v.verdict]));
    const changed = Object.keys({ ...baseline.verdicts, ...now })
      .filter((id) => baseline.verdicts[id] !== now[id])
      .map((id) => `${id}: baseline ${baseline.verdicts[id] ?? 'none'}, now ${now[id] ?? 'none'}`);
    assert.deepEqual(changed, []);
  });

  it('makes the observations the baseline records', () => {
    assert.deepEqual((report.observations ?? []).map(observationShape), baseline.observations);
  });

  it('exits 1 exactly when a MUST fails', () => {
    assert.equal(run.code, report.summary.mustFailures > 0 ? 1 : 0);
    assert.equal(report.target.name, 'linux-6.12 (strict)');
  });

  it("captured every request QEMU's trace shows, teardown included", () => {
    const requests = events.filter((e) => e.event === 'request');
    const count = (type: number) =>
      requests.filter((r) => r.readable.startsWith(`0${type}`)).length;
    const qemu = events.find((e) => e.event === 'device-counts');
    assert.ok(qemu && qemu.event === 'device-counts');
    assert.deepEqual(
      { attach: count(1), detach: count(2), map: count(3), unmap: count(4) },
      {
        attach: qemu.counts.attach,
        detach: qemu.counts.detach,
        map: qemu.counts.map,
        unmap: qemu.counts.unmap,
      },
    );
    assert.ok(
      count(3) > 0 && count(2) > 0 && count(5) > 0,
      'MAP, DETACH and PROBE requests were sent',
    );
  });

  it('judges the saved log as it judged the run', async () => {
    const again = await cli([
      '--from-log',
      join(dir, 'strict.jsonl'),
      '--reports',
      join(dir, 'again'),
    ]);
    const replayed = JSON.parse(
      await readFile(join(dir, 'again', 'linux-6.12-strict.json'), 'utf8'),
    ) as ConformanceReport;
    assert.equal(again.code, run.code);
    assert.deepEqual(replayed.verdicts, report.verdicts);
  });
});
