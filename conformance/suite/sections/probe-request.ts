// Device requirements: PROBE request. The properties of every endpoint the target names.

import {
  SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_PROBE_T_RESV_MEM,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_OK,
  decodeProbeProperties,
  type ProbePropertyEntry,
} from '../../../dist/ts/index.js';
import { encodeRequest } from '../../driver/requests.js';
import type { Session } from '../../session.js';
import { expectStatus, fail, needEdu, needFeature, startDevice } from '../device-steps.js';
import { PollTimeoutError } from '../../qtest/poll.js';
import { draftPropertyTypes } from '../draft-constants.js';
import { SectionTests, Untested } from '../harness.js';

export const section = 'device-requirements-probe-request';
export const tests = new SectionTests();

/** PROBE of @ep: the properties area and its decoded entries. */
export async function probeEndpoint(session: Session): Promise<{
  properties: Uint8Array;
  entries: ProbePropertyEntry[];
  reply: Uint8Array;
  request: Uint8Array;
}> {
  needFeature(session, VIRTIO_IOMMU_F_PROBE, 'F_PROBE');
  const edu = needEdu(session);
  const { probe_size } = await startDevice(session);
  const result = await expectStatus(session, 'probe', { endpoint: BigInt(edu.endpointId) }, [
    VIRTIO_IOMMU_S_OK,
  ]);
  const properties = result.reply.subarray(0, probe_size);
  try {
    return {
      properties,
      entries: decodeProbeProperties(properties),
      reply: result.reply,
      request: result.request,
    };
  } catch (error) {
    return fail('properties that decode', (error as Error).message, result);
  }
}

tests.it(
  '[dev.probe.length] a RESV_MEM property says 20 bytes: its size without the header',
  async (session) => {
    const probed = await probeEndpoint(session);
    for (const entry of probed.entries) {
      if (entry.kind !== 'resv_mem') continue;
      const length = entry.property.head.length;
      if (length !== SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM - 4) {
        fail(
          `length ${SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM - 4}`,
          `the RESV_MEM property at offset ${entry.offset} says length ${length}`,
          probed,
        );
      }
    }
  },
);

/** Where walking the properties by length + 4 from offset 0 stops: after the last one. */
function walkEnd(entries: readonly ProbePropertyEntry[]): number {
  const last = entries.at(-1);
  if (last === undefined) return 0;
  return (
    last.offset + 4 + (last.kind === 'resv_mem' ? last.property.head.length : last.property.length)
  );
}

tests.it(
  '[dev.probe.next-offset] each property starts length + 4 bytes after the one before',
  async (session) => {
    const probed = await probeEndpoint(session);
    // decodeProbeProperties walks by length + 4; every header it lands on must be a known type:
    // the spec's, or a draft's (a device may offer a draft's properties, spec-src/10-probe-limits.md).
    const draftTypes = draftPropertyTypes();
    for (const entry of probed.entries) {
      if (entry.kind === 'unknown' && !draftTypes.has(entry.property.type)) {
        fail(
          'a property header at each length + 4 step',
          `offset ${entry.offset} holds type ${entry.property.type}, which the spec does not define`,
          probed,
        );
      }
    }
    // A property the walk cannot reach (the second one one word too far, say) is misplaced:
    // look for a RESV_MEM header at every offset past the end of the walk.
    const end = walkEnd(probed.entries);
    const view = new DataView(probed.properties.buffer, probed.properties.byteOffset);
    const resvLength = SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM - 4;
    for (let at = end; at + 4 <= probed.properties.length; at++) {
      const type = view.getUint16(at, true) & 0xfff;
      if (type === VIRTIO_IOMMU_PROBE_T_RESV_MEM && view.getUint16(at + 2, true) === resvLength) {
        fail(
          `every property where the one before it ends (${probed.entries.length} found by walking)`,
          `a RESV_MEM property at offset ${at}, where the walk by length + 4 ended at offset ${end}`,
          probed,
        );
      }
    }
  },
);

tests.it(
  '[dev.probe.property-reserved] property headers carry zero reserved bits',
  async (session) => {
    const probed = await probeEndpoint(session);
    for (const entry of probed.entries) {
      const reserved =
        entry.kind === 'resv_mem' ? entry.property.head.reserved : entry.property.reserved;
      if (reserved !== 0)
        fail(
          'reserved bits 0',
          `the property at offset ${entry.offset} has reserved bits 0x${reserved.toString(16)}`,
          probed,
        );
    }
  },
);

tests.it(
  '[dev.probe.zero-fill] the bytes of properties after the last property are zero',
  async (session) => {
    const probed = await probeEndpoint(session);
    const end = walkEnd(probed.entries);
    const rest = probed.properties.subarray(end);
    const index = rest.findIndex((byte) => byte !== 0);
    if (index !== -1)
      fail(
        `zeroes from offset ${end}`,
        `offset ${end + index} holds 0x${rest[index]!.toString(16)}`,
        probed,
      );
  },
);

/** PROBE of @ep with room for 64 bytes fewer properties than probe_size; undefined if never returned. */
async function shortProbe(session: Session): Promise<
  | {
      request: Uint8Array;
      reply: Uint8Array;
      usedLen: number;
      status: number | undefined;
      room: number;
    }
  | undefined
> {
  needFeature(session, VIRTIO_IOMMU_F_PROBE, 'F_PROBE');
  const edu = needEdu(session);
  const { probe_size } = await startDevice(session);
  const room = Math.max(0, probe_size - 64);
  const { readable } = encodeRequest('probe', { endpoint: BigInt(edu.endpointId) });
  try {
    return { ...(await session.driver.requestBytes(readable, room + 4)), room };
  } catch (error) {
    if (error instanceof PollTimeoutError) return undefined;
    throw error;
  }
}

tests.it(
  '[dev.probe.short-buffer-untouched] PROBE with less than probe_size bytes of room: no property written',
  async (session) => {
    const probe = await shortProbe(session);
    if (probe === undefined)
      throw new Untested(
        'the device did not return the buffer, so what it holds cannot be read back',
      );
    // The buffer starts as 0xff bytes: a first header of type 0 or 0xfff is no property.
    const type = (probe.reply[0]! | (probe.reply[1]! << 8)) & 0xfff;
    if (probe.room >= 4 && type !== 0 && type !== 0xfff) {
      fail(
        'no property in the short buffer',
        `a property of type ${type} was written (used length ${probe.usedLen})`,
        probe,
      );
    }
  },
);

tests.it(
  '[dev.probe.short-buffer-inval] PROBE with less than probe_size bytes of room: S_INVAL',
  async (session) => {
    const probe = await shortProbe(session);
    if (probe === undefined) fail('status S_INVAL', 'the device never returned the buffer');
    if (probe.status !== VIRTIO_IOMMU_S_INVAL) {
      const got =
        probe.status === undefined
          ? `used length ${probe.usedLen}`
          : `status ${probe.status}, used length ${probe.usedLen}`;
      fail('status S_INVAL', `PROBE with ${probe.room} bytes of room returned ${got}`, probe);
    }
  },
);
