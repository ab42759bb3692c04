// A drift report for people (one line per finding, file:line first, like a compiler) and as
// JSON for tools.

import type { FindingKind } from './compare.js';
import type { DriftReport } from './drift.js';
import type { ProbeTarget } from './probe.js';

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

export function formatDriftJson(report: DriftReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
