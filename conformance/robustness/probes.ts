// Robustness probes, reported apart from conformance: stimuli that break a driver rule, for
// every request type (inverted ranges followed by requests and DMA that cover them, tails too
// short for a status, PROBE buffers too short for the properties, truncated requests, floods
// of requests and of faults). The spec puts no duty on the device there, but guest input must
// never crash it, hang it or open a hole in isolation: each of those is a finding, a
// guest-triggerable denial of service (or worse), and fails the run.
//
// Each probe runs on a fresh device with a time limit. After the stimulus the device is reset
// and must still answer (a valid ATTACH completes) and still isolate: in a domain that maps
// one page, a DMA to that page arrives, and reads and writes at addresses it does not map
// reach nothing.

import { performance } from 'node:perf_hooks';
import {
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
  statusName,
} from '../../dist/ts/index.js';
import type { EduDevice } from '../edu/edu.js';
import type { RequestResult } from '../driver/iommu-driver.js';
import {
  encodeRequest,
  requestName,
  type FieldValues,
  type RequestVerb,
} from '../driver/requests.js';
import { QtestClosedError, QtestTimeoutError } from '../qtest/errors.js';
import type { RobustnessProbe as RobustnessFinding } from '../../dist/ts/schemas/conformance-report.js';
import { patternFor } from '../scenario/pattern.js';
import { openSession, type Session } from '../session.js';
import {
  errorText,
  isSuiteError,
  TimeLimitError,
  withTimeLimit,
  type RunControl,
} from '../suite/harness.js';
import { TargetUnreachableError, type Target } from '../targets/target.js';

/** Where the isolation check maps its page, from the start of input_range. */
const CHECK_OFFSET = 0x80_0000n;
/** edu reaches RAM-side addresses below this (a 28-bit DMA mask). */
const EDU_REACH = 0x1000_0000n;
/** Guest RAM below the suite's own (which starts at 16 MiB) holds nothing of the suite's. */
const LOW_RAM_END = 0x100_0000n;
/** How many bytes each DMA of the checks moves. */
const DMA_LENGTH = 16;

/** Thrown by a probe that saw the device let an access through that it must block. */
class IsolationBreach extends Error {
  override name = 'IsolationBreach';
}

interface Probe {
  name: string;
  /** Needs F_MAP_UNMAP, F_PROBE: the probe says so instead of running. */
  needs?: 'map-unmap' | 'probe';
  /** The stimulus: each request it sends goes through `trail`, which names it. */
  stimulus(session: Session, trail: Trail): Promise<void>;
}

/** @ep: the first edu endpoint (0 on a target without one: the stimulus is then about nothing). */
function firstEndpoint(session: Session): bigint {
  return BigInt(session.driver.eduEndpoints[0] ?? 0);
}

/** What came back for a request, naming the request by the type it really carried. */
function answer(result: RequestResult): string {
  const name = requestName(result.request);
  return result.status === undefined
    ? `${name}: used length ${result.usedLen}, no status`
    : `${name}: ${statusName(result.status).replace(/^VIRTIO_IOMMU_/, '')}`;
}

/**
 * What a probe sent and what came back, in order. A request is written down before it goes
 * out, named by the type its bytes carry, so a crash or hang names the request that caused it.
 */
class Trail {
  readonly #entries: string[] = [];
  /** The setup ATTACH of @ep got S_OK: isolation in the probe's domain can be judged. */
  attached = false;

  /** The probe's domain and IOVAs: inside domain_range and input_range where the device has them. */
  constructor(readonly place: Place) {}

  /** A typed request; `label` says what it is for (`inverted`, `covering`). */
  async request(
    session: Session,
    label: string,
    verb: RequestVerb,
    fields: FieldValues,
  ): Promise<RequestResult> {
    const { readable } = encodeRequest(verb, fields);
    const at = this.#sent(`${label} ${requestName(readable)}`);
    const result = await session.driver.request(verb, fields);
    this.#entries[at] = `${label} ${answer(result)}`;
    return result;
  }

  /** Raw request bytes with `room` bytes for the reply; `how` describes what is broken. */
  async bytes(session: Session, readable: Uint8Array, room: number, how: string): Promise<void> {
    const at = this.#sent(`${requestName(readable)} ${how}`);
    const result = await session.driver.requestBytes(readable, room);
    this.#entries[at] = `${answer(result)} ${how}`;
  }

  note(text: string): void {
    this.#entries.push(text);
  }

  toString(): string {
    return this.#entries.join('; ') || 'nothing sent';
  }

  #sent(what: string): number {
    return this.#entries.push(`${what} sent, no answer`) - 1;
  }
}

/** A domain inside domain_range and IOVAs from the start of input_range. */
interface Place {
  domain: bigint;
  iova(offset: bigint): bigint;
}

async function placeOf(session: Session): Promise<Place> {
  const config = await session.driver.readConfig();
  const driver = session.driver;
  const domain = driver.has(VIRTIO_IOMMU_F_DOMAIN_RANGE)
    ? BigInt(Math.min(config.domain_range.start + 1, config.domain_range.end))
    : 1n;
  const base = driver.has(VIRTIO_IOMMU_F_INPUT_RANGE) ? config.input_range.start : 0n;
  return { domain, iova: (offset) => base + offset };
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

/** Where in edu's buffer a probe's reads land: apart, so one read-back sees them all. */
const MAPPED_SLOT = 0;
const UNMAPPED_SLOT = 64;

/**
 * Reads `DMA_LENGTH` bytes at `iova` through @ep into an unused part of edu's buffer and says
 * whether any byte of a `forbidden` pattern (what lies where the access must not reach)
 * arrived. A blocked read leaves that part as it was (zero) or zero-fills it; the patterns
 * have no zero byte, so a byte of one can only have come through.
 */
async function leaks(
  edu: EduDevice,
  session: Session,
  iova: bigint,
  forbidden: readonly Uint8Array[],
): Promise<boolean> {
  const staging = { iova: session.staging.base, phys: session.staging.base, size: 0x1000 };
  await edu.toDevice(iova, DMA_LENGTH, UNMAPPED_SLOT);
  const arrived = await edu.readBuffer(DMA_LENGTH, staging, UNMAPPED_SLOT);
  return forbidden.some((pattern) => arrived.some((byte, i) => byte === pattern[i]));
}

const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);

/**
 * Covers `[first, last]` with a MAP, then an UNMAP, then checks that a read at `first` reaches
 * nothing: whatever the broken request before them left behind, the covering UNMAP removed it.
 */
async function coverAndCheck(
  session: Session,
  trail: Trail,
  fromOffset: bigint,
  toOffset: bigint,
): Promise<void> {
  const { domain, iova } = trail.place;
  const first = iova(fromOffset);
  const range = { domain, virt_start: first, virt_end: iova(toOffset) };
  await trail.request(session, 'covering', 'map', {
    ...range,
    phys_start: session.ram.base,
    flags: RW,
  });
  await trail.request(session, 'covering', 'unmap', range);
  const edu = session.driver.edu;
  if (edu === undefined || !trail.attached || first + BigInt(DMA_LENGTH) > EDU_REACH)
    return trail.note('isolation in the domain not checked (@ep not attached, or out of reach)');
  // edu's buffer is reached through an identity mapping of the staging page, outside the range.
  const page = session.staging.base;
  const staging = await trail.request(session, 'staging', 'map', {
    domain,
    virt_start: page,
    virt_end: page + 0xfffn,
    phys_start: page,
    flags: RW,
  });
  if (staging.status !== VIRTIO_IOMMU_S_OK)
    return trail.note("isolation in the domain not checked (no way to edu's buffer)");
  // What the covering MAP pointed at, and the identity address when it is low RAM.
  const mapped = patternFor(`cover:${first}`, DMA_LENGTH);
  const identity = patternFor(`cover-identity:${first}`, DMA_LENGTH);
  await session.qtest.memwrite(session.ram.base, mapped);
  const watched = [mapped];
  if (first + BigInt(DMA_LENGTH) <= LOW_RAM_END) {
    await session.qtest.memwrite(first, identity);
    watched.push(identity);
  }
  if (await leaks(edu, session, first, watched)) {
    throw new IsolationBreach(
      `after ${trail}, a read at IOVA 0x${first.toString(16)} still reached memory`,
    );
  }
  trail.note(`a read at 0x${first.toString(16)} afterwards reached nothing`);
}

async function attachFirst(s: Session, trail: Trail): Promise<void> {
  const fields = { domain: trail.place.domain, endpoint: firstEndpoint(s) };
  const attach = await trail.request(s, 'setup', 'attach', fields);
  trail.attached = attach.status === VIRTIO_IOMMU_S_OK;
}

const PROBES: Probe[] = [
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
        domain: t.place.domain,
        virt_start: t.place.iova(0x1000n),
        virt_end: t.place.iova(0x1fffn),
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
      const fields = {
        domain: t.place.domain,
        virt_start: t.place.iova(0x3000n),
        virt_end: t.place.iova(0x1000n),
      };
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
      const range = {
        domain: t.place.domain,
        virt_start: t.place.iova(0x1000n),
        virt_end: t.place.iova(0x1fffn),
      };
      await t.request(s, 'setup', 'map', { ...range, phys_start: s.ram.base, flags });
      const inverted = {
        domain: t.place.domain,
        virt_start: t.place.iova(0x1fffn),
        virt_end: t.place.iova(0x1000n),
      };
      await t.request(s, 'inverted', 'unmap', inverted);
      await coverAndCheck(s, t, 0x0n, 0xffffn);
    },
  },
  {
    name: 'unmap-short-tail',
    needs: 'map-unmap',
    async stimulus(s, t) {
      await attachFirst(s, t);
      await withRoom(
        s,
        t,
        'unmap',
        { domain: t.place.domain, virt_start: t.place.iova(0n), virt_end: t.place.iova(0xfffn) },
        2,
      );
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
      const range = {
        domain: t.place.domain,
        virt_start: t.place.iova(0x1000n),
        virt_end: t.place.iova(0x1fffn),
      };
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

/** The probes' names, in the order they run. */
export const PROBE_NAMES = PROBES.map((p) => p.name);

export const PROBE_TIMEOUT_MS = 10_000;

/**
 * After the stimulus: reset, a valid ATTACH must complete, and (with MAP and an edu endpoint)
 * a mapped page must be reachable while unmapped reads and writes reach nothing.
 */
async function checkAfterwards(session: Session, place: Place): Promise<string> {
  const driver = session.driver;
  await driver.start();
  const endpoint = firstEndpoint(session);
  const attach = await driver.request('attach', { domain: place.domain, endpoint });
  const attached = `after a reset a valid ${answer(attach)}`;
  const edu = driver.edu;
  const checkIova = place.iova(CHECK_OFFSET);
  if (
    attach.status !== VIRTIO_IOMMU_S_OK ||
    edu === undefined ||
    !driver.has(VIRTIO_IOMMU_F_MAP_UNMAP) ||
    checkIova + 0x1000n > EDU_REACH
  )
    return `${attached}; isolation not checked (needs S_OK, F_MAP_UNMAP, an edu endpoint and input_range within its reach)`;
  const { ram, staging, qtest } = session;
  const rw = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);
  for (const [iova, phys] of [
    [staging.base, staging.base],
    [checkIova, ram.base],
  ] as const) {
    const map = await driver.request('map', {
      domain: place.domain,
      virt_start: iova,
      virt_end: iova + 0xfffn,
      phys_start: phys,
      flags: rw,
    });
    if (map.status !== VIRTIO_IOMMU_S_OK)
      return `${attached}; isolation not checked: ${answer(map)} for 0x${iova.toString(16)}`;
  }
  // Four transfers: a read of the mapped page and one of an unmapped IOVA (whose identity
  // address holds suite RAM) into two parts of edu's buffer, one read-back of both, and a
  // write of what arrived to another unmapped IOVA.
  const page = { iova: staging.base, phys: staging.base, size: 0x1000 };
  const mapped = patternFor('check:mapped', DMA_LENGTH);
  const unmapped = ram.base + 0x1000n;
  const forbidden = patternFor('check:unmapped', DMA_LENGTH);
  const target = ram.base + 0x2000n;
  await Promise.all([
    qtest.memwrite(ram.base, mapped),
    qtest.memwrite(unmapped, forbidden),
    qtest.memset(target, DMA_LENGTH, 0),
  ]);
  await edu.toDevice(checkIova, DMA_LENGTH, MAPPED_SLOT);
  await edu.toDevice(unmapped, DMA_LENGTH, UNMAPPED_SLOT);
  const buffer = await edu.readBuffer(UNMAPPED_SLOT + DMA_LENGTH, page);
  const arrived = buffer.subarray(MAPPED_SLOT, MAPPED_SLOT + DMA_LENGTH);
  if (!Buffer.from(arrived).equals(mapped)) {
    throw new Error(
      `${attached}, but a read of a mapped page brought ${Buffer.from(arrived).toString('hex')}, not its bytes`,
    );
  }
  const leaked = buffer.subarray(UNMAPPED_SLOT, UNMAPPED_SLOT + DMA_LENGTH);
  if (leaked.some((byte, i) => byte === forbidden[i]))
    throw new IsolationBreach(
      `${attached}; a read at unmapped IOVA 0x${unmapped.toString(16)} reached memory (edu's buffer got ${Buffer.from(leaked).toString('hex')})`,
    );
  await edu.fromDevice(target, DMA_LENGTH, MAPPED_SLOT);
  const written = await qtest.memread(target, DMA_LENGTH);
  if (written.some((byte) => byte !== 0))
    throw new IsolationBreach(
      `${attached}; a write at unmapped IOVA 0x${target.toString(16)} reached memory`,
    );
  return `${attached}; a mapped page is reachable, unmapped reads and writes reach nothing`;
}

async function runProbe(
  probe: Probe,
  makeTarget: () => Target,
  control: RunControl | undefined,
): Promise<RobustnessFinding> {
  const began = performance.now();
  const finding = (outcome: RobustnessFinding['outcome'], message: string): RobustnessFinding => ({
    probe: probe.name,
    outcome,
    durationMs: Math.round(performance.now() - began),
    message,
  });
  const stopped = control?.stopped;
  if (stopped !== undefined) return finding('error', `not run: ${stopped}`);
  const timeLimitMs = Math.min(PROBE_TIMEOUT_MS, control?.remainingMs() ?? PROBE_TIMEOUT_MS);
  const target = makeTarget();
  let trail: Trail | undefined;
  let step = 'the stimulus';
  const work = (async (): Promise<RobustnessFinding> => {
    const session = await openSession(target);
    control?.reached(true);
    await session.driver.start();
    const place = await placeOf(session);
    trail = new Trail(place);
    const lacking =
      probe.needs === 'map-unmap' && !session.driver.has(VIRTIO_IOMMU_F_MAP_UNMAP)
        ? 'F_MAP_UNMAP'
        : probe.needs === 'probe' && !session.driver.has(VIRTIO_IOMMU_F_PROBE)
          ? 'F_PROBE'
          : undefined;
    if (lacking !== undefined) trail.note(`not sent: the device does not offer ${lacking}`);
    else {
      try {
        await probe.stimulus(session, trail);
      } catch (error) {
        if (!(error instanceof Error) || isSuiteError(error) || isDeviceGone(error)) throw error;
        if (error instanceof IsolationBreach) throw error;
        // The device may refuse broken input any way it likes, short of crashing or hanging.
        trail.note(`refused: ${error.message}`);
      }
    }
    step = 'the check afterwards';
    return finding('ok', `${trail}; ${await checkAfterwards(session, place)}`);
  })();
  try {
    return await withTimeLimit(work, timeLimitMs, `no answer within ${timeLimitMs} ms`);
  } catch (error) {
    if (error instanceof TargetUnreachableError) {
      control?.reached(false, error.message);
      return finding('error', `not run: ${error.message}`);
    }
    if (error instanceof IsolationBreach) return finding('isolation-breach', error.message);
    if (error instanceof TimeLimitError && timeLimitMs < PROBE_TIMEOUT_MS)
      return finding('error', `stopped by the run's time limit: ${error.message}`);
    if (isSuiteError(error)) return finding('error', errorText(error));
    const message = `during ${step} (${trail ?? 'nothing sent'}): ${(error as Error).message}`;
    if (error instanceof QtestClosedError) return finding('crash', message);
    if (isDeviceGone(error)) return finding('hang', message);
    // It still answers qtest, but no longer works: a valid request or its setup fails.
    if (step === 'the check afterwards') return finding('broken', message);
    return finding('error', `the probe could not start: ${(error as Error).message}`);
  } finally {
    await target.close().catch(() => undefined);
  }
}

/** The device crashed (the connection closed) or hung (no reply, a time limit). */
function isDeviceGone(error: unknown): boolean {
  return (
    error instanceof QtestClosedError ||
    error instanceof QtestTimeoutError ||
    error instanceof TimeLimitError
  );
}

/** Every probe, `lanes` at a time (each on its own target); findings in the probes' order. */
export async function runRobustnessProbes(
  makeTarget: () => Target,
  control?: RunControl,
  lanes = 1,
): Promise<RobustnessFinding[]> {
  const findings: RobustnessFinding[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < PROBES.length; i = next++) {
      findings[i] = await runProbe(PROBES[i]!, makeTarget, control);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, PROBES.length) }, lane));
  return findings;
}
