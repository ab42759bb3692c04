// The stimuli of the robustness probes: broken driver input for every request type (tails
// too short for a status, no reply room, inverted ranges, a range up to 2^64 - 1, PROBE
// buffers too short for the properties, truncated requests, floods of requests and faults).

import { VIRTIO_IOMMU_MAP_F_READ, VIRTIO_IOMMU_S_OK } from '../../dist/ts/index.js';
import { encodeRequest, type FieldValues, type RequestVerb } from '../driver/requests.js';
import type { Session } from '../session.js';
import { coverAndCheck, EDU_REACH, RW } from './isolation-checks.js';
import { firstEndpoint } from './place.js';
import type { Trail } from './trail.js';

export interface Probe {
  name: string;
  /** Needs F_MAP_UNMAP, F_PROBE: the probe says so instead of running. */
  needs?: 'map-unmap' | 'probe';
  /** The stimulus: each request it sends goes through `trail`, which names it. */
  stimulus(session: Session, trail: Trail): Promise<void>;
}

/** `verb` with `fields` and `room` bytes for the reply instead of the size it needs. */
function withRoom(
  session: Session,
  trail: Trail,
  verb: RequestVerb,
  fields: FieldValues,
  room: number,
): Promise<void> {
  const { readable } = encodeRequest(verb, fields);
  return trail.bytes(session, readable, room, `with ${room} byte${room === 1 ? '' : 's'} of room`);
}

/**
 * `verb` whose device-readable part is cut after the head and 2 bytes of its body, with all
 * the room its reply needs (a PROBE's properties included): only the request is broken.
 */
async function truncated(
  session: Session,
  trail: Trail,
  verb: RequestVerb,
  fields: FieldValues,
): Promise<void> {
  const { probe_size } = await session.driver.readConfig();
  const { readable, writableLength } = encodeRequest(verb, fields, probe_size);
  const length = 6;
  await trail.bytes(
    session,
    readable.subarray(0, length),
    writableLength,
    `cut to ${length} of ${readable.length} bytes`,
  );
}

async function attachFirst(s: Session, trail: Trail): Promise<void> {
  const fields = { domain: trail.place.domain, endpoint: firstEndpoint(s) };
  const attach = await trail.request(s, 'setup', 'attach', fields);
  trail.attached = attach.status === VIRTIO_IOMMU_S_OK;
}

/** Every probe, in the order they run. */
export const PROBES: readonly Probe[] = [
  {
    name: 'attach-short-tail',
    stimulus: (s, t) =>
      withRoom(s, t, 'attach', { domain: t.place.domain, endpoint: firstEndpoint(s) }, 2),
  },
  {
    name: 'attach-no-reply-room',
    stimulus: (s, t) =>
      withRoom(s, t, 'attach', { domain: t.place.domain, endpoint: firstEndpoint(s) }, 0),
  },
  {
    name: 'detach-short-tail',
    async stimulus(s, t) {
      await attachFirst(s, t);
      await withRoom(s, t, 'detach', { domain: t.place.domain, endpoint: firstEndpoint(s) }, 3);
    },
  },
  {
    name: 'map-short-tail',
    needs: 'map-unmap',
    async stimulus(s, t) {
      await attachFirst(s, t);
      const fields = {
        ...t.place.range(0x1000n, 0x1fffn),
        phys_start: s.ram.base,
        flags: BigInt(VIRTIO_IOMMU_MAP_F_READ),
      };
      await withRoom(s, t, 'map', fields, 1);
    },
  },
  {
    name: 'map-inverted-range',
    needs: 'map-unmap',
    async stimulus(s, t) {
      await attachFirst(s, t);
      const fields = t.place.range(0x3000n, 0x1000n);
      await t.request(s, 'inverted', 'map', { ...fields, phys_start: s.ram.base, flags: RW });
      await coverAndCheck(s, t, 0x0n, 0xffffn);
    },
  },
  {
    name: 'map-unmap-to-the-top',
    needs: 'map-unmap',
    async stimulus(s, t) {
      // virt_end + 1 wraps to 0: a device that computes the size as end - start + 1 gets it wrong.
      await attachFirst(s, t);
      const range = {
        domain: t.place.domain,
        virt_start: t.place.iova(0x2000n),
        virt_end: 0xffff_ffff_ffff_ffffn,
      };
      const flags = BigInt(VIRTIO_IOMMU_MAP_F_READ);
      await t.request(s, 'to the top', 'map', { ...range, phys_start: s.ram.base, flags });
      await t.request(s, 'to the top', 'unmap', range);
      await coverAndCheck(s, t, 0x2000n, 0x2fffn);
    },
  },
  {
    name: 'unmap-inverted-range',
    needs: 'map-unmap',
    async stimulus(s, t) {
      await attachFirst(s, t);
      const flags = BigInt(VIRTIO_IOMMU_MAP_F_READ);
      const range = t.place.range(0x1000n, 0x1fffn);
      await t.request(s, 'setup', 'map', { ...range, phys_start: s.ram.base, flags });
      await t.request(s, 'inverted', 'unmap', t.place.range(0x1fffn, 0x1000n));
      await coverAndCheck(s, t, 0x0n, 0xffffn);
    },
  },
  {
    name: 'unmap-short-tail',
    needs: 'map-unmap',
    async stimulus(s, t) {
      await attachFirst(s, t);
      await withRoom(s, t, 'unmap', t.place.range(0n, 0xfffn), 2);
    },
  },
  {
    name: 'probe-short-buffer',
    needs: 'probe',
    async stimulus(s, t) {
      const { probe_size } = await s.driver.readConfig();
      const room = Math.max(4, Math.floor(probe_size / 2));
      await withRoom(s, t, 'probe', { endpoint: firstEndpoint(s) }, room);
    },
  },
  {
    name: 'probe-tail-only',
    needs: 'probe',
    stimulus: (s, t) => withRoom(s, t, 'probe', { endpoint: firstEndpoint(s) }, 4),
  },
  {
    name: 'unknown-type-short-tail',
    stimulus: (s, t) =>
      withRoom(
        s,
        t,
        'attach',
        { 'head.type': 0n, domain: t.place.domain, endpoint: firstEndpoint(s) },
        1,
      ),
  },
  ...(['attach', 'detach', 'map', 'unmap', 'probe'] as const).map((verb): Probe => ({
    name: `${verb}-truncated`,
    async stimulus(s, t) {
      const endpoint = firstEndpoint(s);
      const range = t.place.range(0x1000n, 0x1fffn);
      const fields: Record<RequestVerb, FieldValues> = {
        attach: { domain: t.place.domain, endpoint },
        detach: { domain: t.place.domain, endpoint },
        map: { ...range, phys_start: s.ram.base, flags: 1n },
        unmap: range,
        probe: { endpoint },
      };
      await truncated(s, t, verb, fields[verb]);
    },
  })),
  {
    name: 'request-flood',
    needs: 'map-unmap',
    async stimulus(s, t) {
      // 24 requests of every type in flight at once (48 of the queue's 64 descriptors).
      const endpoint = firstEndpoint(s);
      const verbs = ['attach', 'map', 'unmap', 'detach'] as const;
      t.note('24 ATTACH, MAP, UNMAP and DETACH requests sent at once');
      const results = await s.driver.requestBatch(
        Array.from({ length: 24 }, (_, i) => {
          const verb = verbs[i % 4]!;
          const domain = t.place.domain + BigInt(i % 3);
          const iova = t.place.iova(BigInt(0x1000 * (1 + i)));
          const range = { domain, virt_start: iova, virt_end: iova + 0xfffn };
          const fields: FieldValues =
            verb === 'attach' || verb === 'detach'
              ? { domain, endpoint }
              : verb === 'map'
                ? { ...range, phys_start: s.ram.base, flags: 1n }
                : range;
          return { verb, fields };
        }),
      );
      t.note(`${results.length} answered`);
    },
  },
  {
    name: 'fault-flood',
    needs: 'map-unmap',
    async stimulus(s, t) {
      // @ep in an empty domain makes 8 faulting reads of 64 bytes, misaligned.
      const edu = s.driver.edu;
      if (edu === undefined) return t.note('no edu endpoint: no DMA to fault');
      await attachFirst(s, t);
      for (let i = 0; i < 8; i++) {
        const iova = t.place.iova(BigInt(0x10_000 * (i + 1)) + 3n);
        if (iova + 64n <= EDU_REACH) await edu.toDevice(iova, 64);
      }
      const events = await s.driver.collectEvents();
      t.note(`8 faulting reads of 64 bytes, ${events.length} event buffers used`);
    },
  },
];
