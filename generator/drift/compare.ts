// Compares a header with the model's C view and says how they differ, as typed findings:
// a name missing from the header, one the header has beyond the spec, a macro value, a
// field type, a layout (sizeof/offsetof/field size), and a likely rename (a missing name
// and an extra one in the same place: the same offset and size for a field, the same
// fields for a struct, the same value and group for a macro).

import { evaluateCExpression } from '../c-expression.js';
import {
  cTypeText,
  viewDefines,
  viewStructs,
  type CDefine,
  type CStruct,
  type CView,
} from '../emit/c-view.js';
import type { SourcePlace } from '../model.js';
import { groupPrefix } from '../model-facts.js';
import {
  headerTypeText,
  type HeaderDefine,
  type HeaderField,
  type HeaderPlace,
  type HeaderStruct,
  type ParsedHeader,
} from './parse-header.js';
import type { Measurements } from './probe.js';

export type FindingKind = 'missing' | 'extra' | 'value' | 'type' | 'layout' | 'rename';

export interface Finding {
  kind: FindingKind;
  /**
   * What it is about: a macro (`VIRTIO_IOMMU_S_OK`), a struct (`struct virtio_iommu_fault`)
   * or a field (`virtio_iommu_fault.reserved1`), by the spec's name (the header's for 'extra').
   */
  subject: string;
  message: string;
  /** Where the header has it (or the struct it belongs to). */
  header?: HeaderPlace;
  /** Where the spec defines it. */
  spec?: SourcePlace;
  expected?: string;
  actual?: string;
  /** For 'rename': the header's name. */
  headerName?: string;
}

const hexOrDecimal = (v: bigint | number): string =>
  BigInt(v) > 9n ? `0x${BigInt(v).toString(16)}` : String(v);

/**
 * The spec's items and the header's, paired by name. What is left is missing from the header
 * or extra in it, unless `takeTwin` finds the same thing under another name.
 */
function matchByName<E extends { name: string }, H extends { name: string }>(
  expected: E[],
  header: H[],
): { matched: [E, H][]; missing: E[]; extra: H[] } {
  const inHeader = new Map(header.map((h) => [h.name, h]));
  const matched: [E, H][] = [];
  const missing: E[] = [];
  for (const e of expected) {
    const h = inHeader.get(e.name);
    if (!h) {
      missing.push(e);
      continue;
    }
    inHeader.delete(e.name);
    matched.push([e, h]);
  }
  return { matched, missing, extra: [...inHeader.values()] };
}

/** Removes from `extra` and returns the first item that `isTwin` accepts: a likely rename. */
function takeTwin<H>(extra: H[], isTwin: (h: H) => boolean): H | undefined {
  const i = extra.findIndex(isTwin);
  return i < 0 ? undefined : extra.splice(i, 1)[0];
}

/** Two macro names of the same kind: the same group (`VIRTIO_IOMMU_S_`) or the same last word (`_MASK`). */
function sameKind(a: string, b: string): boolean {
  const group = groupPrefix(a);
  const last = (n: string) => /_([A-Z]{2,})$/.exec(n)?.[1];
  return (
    (group !== undefined && group === groupPrefix(b)) ||
    (last(a) !== undefined && last(a) === last(b))
  );
}

function compareDefines(
  expected: CDefine[],
  header: HeaderDefine[],
  values: Map<string, bigint>,
): Finding[] {
  const findings: Finding[] = [];
  const { matched, missing, extra } = matchByName(
    expected,
    header.filter((d) => d.body !== ''),
  );
  for (const [e, h] of matched) {
    const actual = values.get(h.name);
    if (actual === undefined) {
      findings.push({
        kind: 'value',
        subject: e.name,
        message: `${e.name} is \`${h.body}\` in the header, which is not an integer constant expression; the spec says ${hexOrDecimal(e.value)}`,
        header: h.place,
        spec: e.source,
        expected: String(e.value),
        actual: h.body,
      });
    } else if (actual !== BigInt(e.value)) {
      findings.push({
        kind: 'value',
        subject: e.name,
        message: `${e.name} is ${hexOrDecimal(actual)} in the header; the spec says ${hexOrDecimal(e.value)}`,
        header: h.place,
        spec: e.source,
        expected: String(e.value),
        actual: String(actual),
      });
    }
  }
  for (const e of missing) {
    const twin = takeTwin(
      extra,
      (h) => values.get(h.name) === BigInt(e.value) && sameKind(h.name, e.name),
    );
    if (twin) {
      findings.push({
        kind: 'rename',
        subject: e.name,
        headerName: twin.name,
        message: `${e.name} is ${twin.name} in the header: same value ${hexOrDecimal(e.value)}`,
        header: twin.place,
        spec: e.source,
        expected: e.name,
        actual: twin.name,
      });
    } else {
      findings.push({
        kind: 'missing',
        subject: e.name,
        message: `${e.name} (${hexOrDecimal(e.value)}) is missing from the header`,
        spec: e.source,
        expected: String(e.value),
      });
    }
  }
  for (const h of extra) {
    const value = values.get(h.name);
    findings.push({
      kind: 'extra',
      subject: h.name,
      message: `${h.name}${h.functionLike ? '()' : ''} = ${h.body}${value !== undefined && ![String(value), hexOrDecimal(value)].includes(h.body) ? ` (${hexOrDecimal(value)})` : ''} is not in the spec`,
      header: h.place,
      actual: value !== undefined ? String(value) : h.body,
    });
  }
  return findings;
}

function compareFields(e: CStruct, h: HeaderStruct, m: Measurements): Finding[] {
  const findings: Finding[] = [];
  const layout = m.structs.get(h.name);
  const normalize = (f: HeaderField): string => {
    if (f.count === undefined || f.count === '') return headerTypeText(f);
    const n = evaluateCExpression(f.count, (name) => m.values.get(name));
    return headerTypeText(n === undefined ? f : { ...f, count: String(n) });
  };
  const { matched, missing, extra } = matchByName(e.fields, h.fields);
  for (const [ef, hf] of matched) {
    const subject = `${e.name}.${ef.name}`;
    const type = normalize(hf);
    if (type !== cTypeText(ef)) {
      findings.push({
        kind: 'type',
        subject,
        message: `${subject} is ${type} in the header; the spec says ${cTypeText(ef)}`,
        header: hf.place,
        spec: ef.source,
        expected: cTypeText(ef),
        actual: type,
      });
    }
    const measured = layout?.fields.get(hf.name);
    if (
      measured &&
      (measured.offset !== ef.offset || (measured.size !== undefined && measured.size !== ef.size))
    ) {
      findings.push({
        kind: 'layout',
        subject,
        message: `${subject} is at offset ${measured.offset}${measured.size !== undefined ? `, size ${measured.size}` : ''} in the header; the spec puts it at offset ${ef.offset}${ef.flexible ? '' : `, size ${ef.size}`}`,
        header: hf.place,
        spec: ef.source,
        expected: `offset ${ef.offset}, size ${ef.size}`,
        actual: `offset ${measured.offset}, size ${measured.size ?? 0}`,
      });
    }
  }
  for (const ef of missing) {
    const subject = `${e.name}.${ef.name}`;
    const twin = takeTwin(extra, (hf) => {
      const at = layout?.fields.get(hf.name);
      return at !== undefined && at.offset === ef.offset && (at.size ?? 0) === ef.size;
    });
    if (twin) {
      findings.push({
        kind: 'rename',
        subject,
        headerName: twin.name,
        message: `${subject} (${cTypeText(ef)}) is ${twin.name} (${normalize(twin)}) in the header: same offset ${ef.offset} and size ${ef.size}`,
        header: twin.place,
        spec: ef.source,
        expected: `${ef.name} ${cTypeText(ef)}`,
        actual: `${twin.name} ${normalize(twin)}`,
      });
    } else {
      findings.push({
        kind: 'missing',
        subject,
        message: `${subject} (${cTypeText(ef)} at offset ${ef.offset}) is missing from the header's struct`,
        header: h.place,
        spec: ef.source,
        expected: `${cTypeText(ef)} at offset ${ef.offset}`,
      });
    }
  }
  for (const hf of extra) {
    const at = layout?.fields.get(hf.name);
    findings.push({
      kind: 'extra',
      subject: `${e.name}.${hf.name}`,
      message: `${e.name}.${hf.name} (${normalize(hf)}${at ? ` at offset ${at.offset}` : ''}) is not in the spec`,
      header: hf.place,
      actual: normalize(hf),
    });
  }
  return findings;
}

function compareStructs(expected: CStruct[], header: HeaderStruct[], m: Measurements): Finding[] {
  const findings: Finding[] = [];
  const { matched, missing, extra } = matchByName(expected, header);
  for (const [e, h] of matched) {
    const size = m.structs.get(h.name)?.size;
    if (size !== undefined && size !== e.size) {
      findings.push({
        kind: 'layout',
        subject: `struct ${e.name}`,
        message: `sizeof(struct ${e.name}) is ${size} in the header; the spec's layout gives ${e.size}`,
        header: h.place,
        spec: e.source,
        expected: String(e.size),
        actual: String(size),
      });
    }
    findings.push(...compareFields(e, h, m));
  }
  const shape = (names: string[]) => names.join(',');
  for (const e of missing) {
    const twin = takeTwin(
      extra,
      (h) => shape(h.fields.map((f) => f.name)) === shape(e.fields.map((f) => f.name)),
    );
    if (twin) {
      findings.push({
        kind: 'rename',
        subject: `struct ${e.name}`,
        headerName: `struct ${twin.name}`,
        message: `struct ${e.name} is struct ${twin.name} in the header: the same fields`,
        header: twin.place,
        spec: e.source,
        expected: e.name,
        actual: twin.name,
      });
      findings.push(...compareFields({ ...e, name: twin.name }, twin, m));
    } else {
      findings.push({
        kind: 'missing',
        subject: `struct ${e.name}`,
        message: `struct ${e.name} is missing from the header`,
        spec: e.source,
      });
    }
  }
  for (const h of extra) {
    findings.push({
      kind: 'extra',
      subject: `struct ${h.name}`,
      message: `struct ${h.name} (${h.fields.length} fields) is not in the spec`,
      header: h.place,
    });
  }
  return findings;
}

/** Every difference between the header and the view, in header order (missing names last). */
export function compareHeader(
  view: CView,
  header: ParsedHeader,
  measurements: Measurements,
): Finding[] {
  const findings = [
    ...compareDefines(viewDefines(view), header.defines, measurements.values),
    ...compareStructs(viewStructs(view), header.structs, measurements),
  ];
  const line = (f: Finding) => f.header?.line ?? Number.MAX_SAFE_INTEGER;
  return findings.sort((a, b) => line(a) - line(b) || a.subject.localeCompare(b.subject));
}
