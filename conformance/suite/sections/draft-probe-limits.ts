// Draft probe-limits (spec-src/10-probe-limits.md), device requirements. These run with
// `viommu conform --drafts` only, behind the gate of draft-gate.ts (not applicable unless the
// device offers VIRTIO_IOMMU_F_PROBE). Every endpoint the target has is probed, and each
// statement is judged on the draft's properties (types 2 to 7) found by walking the replies;
// where there is none the statement is not applicable. The draft's values come from
// dist/drafts/spec.json: dist/ts holds the spec alone.

import {
  VIRTIO_IOMMU_S_OK,
  decodeProbeProperties,
  type ProbePropertyEntry,
} from '../../../dist/ts/index.js';
import type { Session } from '../../session.js';
import { expectStatus, fail, startDevice } from '../device-steps.js';
import { draftConstant as constant } from '../draft-constants.js';
import { NotApplicable, SectionTests } from '../harness.js';

export const draft = 'probe-limits';
export const tests = new SectionTests();

/**
 * The draft's property types, each with the bytes its fields take after the 4-byte header
 * and where its `reserved` bytes lie (from the start of the property).
 */
const PROPERTIES = [
  { name: 'PAGE_SIZE_MASK', length: 12, reserved: [4, 8] },
  { name: 'INPUT_RANGE', length: 20, reserved: [4, 8] },
  { name: 'OUTPUT_SIZE', length: 4, reserved: [5, 8] },
  { name: 'PASID_SIZE', length: 4, reserved: [5, 8] },
  { name: 'PAGE_TABLE_FMT', length: 4, reserved: [6, 8] },
  { name: 'PASID_TABLE_FMT', length: 4, reserved: [6, 8] },
] as const;
type PropertyName = (typeof PROPERTIES)[number]['name'];

/** One of the draft's properties in a PROBE reply: its bytes from its header on. */
interface Found {
  name: PropertyName;
  endpoint: number;
  offset: number;
  bytes: DataView;
  raw: Uint8Array;
  probe: { request: Uint8Array; reply: Uint8Array };
}

/** PROBE of every endpoint the target has; the draft's properties in the replies, and the config. */
async function probeAll(session: Session) {
  const config = await startDevice(session);
  const types = new Map(
    PROPERTIES.map((p) => [constant(`VIRTIO_IOMMU_PROBE_T_${p.name}`), p] as const),
  );
  const found: Found[] = [];
  for (const endpoint of session.driver.eduEndpoints) {
    const probe = await expectStatus(session, 'probe', { endpoint: BigInt(endpoint) }, [
      VIRTIO_IOMMU_S_OK,
    ]);
    const properties = probe.reply.subarray(0, config.probe_size);
    let entries: ProbePropertyEntry[];
    try {
      entries = decodeProbeProperties(properties);
    } catch (error) {
      return fail('properties that decode', (error as Error).message, probe);
    }
    for (const entry of entries) {
      if (entry.kind !== 'unknown') continue;
      const property = types.get(entry.property.type);
      if (property === undefined) continue;
      if (entry.property.length < property.length)
        fail(
          `a ${property.name} property of length ${property.length}`,
          `endpoint ${endpoint}: the ${property.name} property at offset ${entry.offset} says length ${entry.property.length}`,
          probe,
        );
      const raw = properties.subarray(entry.offset, entry.offset + 4 + property.length);
      found.push({
        name: property.name,
        endpoint,
        offset: entry.offset,
        bytes: new DataView(raw.buffer, raw.byteOffset, raw.byteLength),
        raw,
        probe,
      });
    }
  }
  return { config, found };
}

/** The found properties named `names`; not applicable when there is none. */
function only(found: readonly Found[], ...names: PropertyName[]): Found[] {
  const chosen = found.filter((f) => names.includes(f.name));
  if (chosen.length === 0)
    throw new NotApplicable(`no endpoint reports a ${names.join(' or ')} property in PROBE`);
  return chosen;
}

const hex = (value: bigint) => `0x${value.toString(16)}`;
const where = (f: Found) => `endpoint ${f.endpoint}: the ${f.name} property at offset ${f.offset}`;

tests.it(
  '[dev.probe-limits.page-size-nonzero] every PAGE_SIZE_MASK property sets a bit of mask',
  async (session) => {
    const { found } = await probeAll(session);
    for (const f of only(found, 'PAGE_SIZE_MASK')) {
      if (f.bytes.getBigUint64(8, true) === 0n)
        fail('a non-zero mask', `${where(f)} has mask 0`, f.probe);
    }
  },
);

tests.it(
  "[dev.probe-limits.page-size-subset] every PAGE_SIZE_MASK property's mask is within page_size_mask",
  async (session) => {
    const { config, found } = await probeAll(session);
    for (const f of only(found, 'PAGE_SIZE_MASK')) {
      const outside = f.bytes.getBigUint64(8, true) & ~config.page_size_mask;
      if (outside !== 0n)
        fail(
          `mask bits within page_size_mask ${hex(config.page_size_mask)}`,
          `${where(f)} sets bits ${hex(outside)}, clear in page_size_mask`,
          f.probe,
        );
    }
  },
);

tests.it(
  '[dev.probe-limits.input-range-order] every INPUT_RANGE property has start ≤ end',
  async (session) => {
    const { found } = await probeAll(session);
    for (const f of only(found, 'INPUT_RANGE')) {
      const start = f.bytes.getBigUint64(8, true);
      const end = f.bytes.getBigUint64(16, true);
      if (start > end)
        fail('start ≤ end', `${where(f)} has start ${hex(start)} > end ${hex(end)}`, f.probe);
    }
  },
);

tests.it(
  '[dev.probe-limits.reserved] the reserved bytes of the draft properties are zero',
  async (session) => {
    const { found } = await probeAll(session);
    for (const f of only(found, ...PROPERTIES.map((p) => p.name))) {
      const [from, to] = PROPERTIES.find((p) => p.name === f.name)!.reserved;
      const reserved = f.raw.subarray(from, to);
      if (reserved.some((byte) => byte !== 0))
        fail(
          'reserved zeroes',
          `${where(f)} has reserved ${Buffer.from(reserved).toString('hex')}`,
          f.probe,
        );
    }
  },
);
