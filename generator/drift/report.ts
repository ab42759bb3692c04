// A drift report for people (one line per finding, file:line first, like a compiler) and as
// JSON for tools.

import type { FindingKind } from './compare.js';
import type { DriftReport } from './drift.js';
import type { ProbeTarget } from './probe.js';
import { CURRENT } from '../versions/resolve.js';

const KIND_WORDS: Record<FindingKind, string> = {
  missing: 'missing in header',
  extra: 'extra in header',
  value: 'value differs',
  type: 'type differs',
  layout: 'layout differs',
  rename: 'likely rename',
};

function targetWords(t: ProbeTarget): string {
  return `${t.machine}, ${t.bits}-bit ${t.littleEndian ? 'little' : 'big'}-endian`;
}

export function formatDriftText(report: DriftReport): string {
  const against = `${report.model.title}, spec model ${report.model.version}${report.profile ? `, profile ${report.profile}` : ''}`;
  const out = [
    `viommu drift: ${report.header} against ${against}`,
    report.abi.measured
      ? `ABI measured with ${report.abi.compiler} for ${targetWords(report.abi.target)}: sizeof, offsetof and macro values read from the compiled object, nothing run`
      : `ABI check skipped: ${report.abi.reason}; layouts and values come from the header's text`,
  ];
  if (report.abi.measured && report.abi.notIntegers.length > 0) {
    out.push(
      `note: no integer constant value, so not measured: ${report.abi.notIntegers.join(', ')}`,
    );
  }
  if (report.versions) out.push(...versionLines(report.versions));
  for (const f of report.findings) {
    const place = f.header ? `${f.header.file}:${f.header.line}` : report.header;
    const spec = f.spec ? ` [spec: ${f.spec.file}:${f.spec.line}]` : '';
    out.push(`${place}: ${KIND_WORDS[f.kind]}: ${f.message}${spec}`);
    if (f.accepted !== undefined) out.push(`  accepted: ${f.accepted}`);
  }
  for (const a of report.unused) {
    out.push(
      `note: the allow-list accepts ${a.kind} ${a.subject}, which this header does not show`,
    );
  }
  const total = report.findings.length;
  out.push(
    total === 0
      ? `No drift: the header matches the spec${report.profile ? ` with profile ${report.profile}` : ''}.`
      : `${total} finding${total === 1 ? '' : 's'}: ${report.drift} drift, ${report.accepted} accepted${report.allowList ? ` by ${report.allowList}` : ''}`,
  );
  return `${out.join('\n')}\n`;
}

const percent = (score: number) => `${Math.round(score * 100)}%`;

/** The closest known version, how close the others are, and the differences against it. */
function versionLines({ best, ranking }: NonNullable<DriftReport['versions']>): string[] {
  const others = ranking
    .slice(1)
    .map((m) => `${m.version} ${percent(m.score)}`)
    .join(', ');
  const out = [
    `closest known version: ${best.version}, ${percent(best.score)} alike (${best.agree} of its ${best.total} definitions agree, ${best.extra} names it lacks); then ${others}`,
  ];
  if (best.findings.length === 0) out.push(`  the header is ${best.version} exactly`);
  // The current spec's differences follow anyway, with the allow-list's verdicts.
  if (best.version === CURRENT) return out;
  for (const f of best.findings) {
    const place = f.header ? `${f.header.file}:${f.header.line}: ` : '';
    out.push(`  against ${best.version}: ${place}${KIND_WORDS[f.kind]}: ${f.message}`);
  }
  out.push(`against the current spec:`);
  return out;
}

export function formatDriftJson(report: DriftReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
