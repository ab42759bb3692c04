// The judge: replays an event log through device-ref's IOMMU core, configured as the device
// the guest saw, and turns device-ref's driver findings into one verdict per driver statement
// (judge/statement-plan.ts says what each statement applies to). What the driver did that no
// statement covers (a request no device can serve, for one) becomes an observation.

import {
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_T_ATTACH,
  VIRTIO_IOMMU_T_DETACH,
  VIRTIO_IOMMU_T_MAP,
  VIRTIO_IOMMU_T_UNMAP,
  requestTypeName,
  statusName,
} from '../../dist/ts/index.js';
import type { IommuFinding } from '../../device-ref/iommu/findings.js';
import { createRequestReplay, type RequestReplay } from '../../device-ref/iommu/replay.js';
import type { StatementCatalog } from '../../device-ref/iommu/statements.js';
import type { DeviceEvent, LoggedEvent, RequestEvent } from '../log/event-log.js';
import {
  notNegotiated,
  STATEMENT_PLAN,
  type RequestFacts,
  type RunFacts,
} from './statement-plan.js';

export type VerdictValue = 'pass' | 'fail' | 'not-applicable' | 'untested';

/** A broken statement, with the request that broke it. */
export interface Violation {
  message: string;
  /** The request's device-readable bytes (hex) and its place in the log. */
  request?: { seq: number; line: number; readable: string };
}

export interface DriverVerdict {
  statement: string;
  level: string;
  text: string;
  verdict: VerdictValue;
  /** Why not-applicable or untested; what was checked for a pass. */
  reason: string;
  /** How many requests (or facts of the run) the statement was checked on. */
  checked: number;
  violations: Violation[];
  /** All violations, when more than `violations` holds. */
  violationCount: number;
}

export type ObservationKind = 'unserved' | 'unforeseen' | 'device-disagrees';

export interface Observation {
  kind: ObservationKind;
  message: string;
  request?: { seq: number; line: number; readable: string };
  /** How many requests showed the same thing. */
  count: number;
}

export interface Judgement {
  verdicts: DriverVerdict[];
  observations: Observation[];
  requests: { total: number; byType: Record<string, number> };
}

/** Violations and observations kept per statement or kind: the first ones tell the story. */
const KEEP = 5;

function replayOf(
  events: LoggedEvent[],
  sink: (f: IommuFinding) => void,
  catalog?: StatementCatalog,
): RequestReplay {
  const device = events.find((e): e is DeviceEvent & { line: number } => e.event === 'device')!;
  const regions = events.flatMap((e) => (e.event === 'reserved-region' ? [e] : []));
  const ram = events.flatMap((e) =>
    e.event === 'ram' ? [{ start: BigInt(e.start), end: BigInt(e.end) }] : [],
  );
  const endpointIds = new Set([...device.endpoints, ...regions.map((r) => r.endpoint)]);
  try {
    return createRequestReplay(
      {
        endpoints: [...endpointIds].map((id) => ({
          id,
          reservedRegions: regions
            .filter((r) => r.endpoint === id)
            .map((r) => ({ subtype: r.subtype, start: BigInt(r.start), end: BigInt(r.end) })),
        })),
        features: BigInt(device.offered_features),
        pageSizeMask: BigInt(device.page_size_mask),
        inputRange: {
          start: BigInt(device.input_range.start),
          end: BigInt(device.input_range.end),
        },
        domainRange: device.domain_range,
        probeSize: device.probe_size,
        bypass: device.bypass,
        ...(ram.length > 0 && { ram }),
      },
      sink,
      ...(catalog ? [catalog] : []),
    );
  } catch (error) {
    throw new Error(
      `line ${device.line}: the device event describes no device device-ref can be: ${(error as Error).message}`,
    );
  }
}

function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function u32(bytes: Uint8Array, offset: number): number | undefined {
  return bytes.length >= offset + 4
    ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset, true)
    : undefined;
}

export function judgeEventLog(events: LoggedEvent[], catalog: StatementCatalog): Judgement {
  const found: { finding: IommuFinding; request?: Violation['request'] }[] = [];
  let current: Violation['request'];
  const replay = replayOf(events, (finding) => found.push({ finding, request: current }), catalog);
  const core = replay.core;
  const checked = new Map<string, number>();
  const observations = new Map<string, Observation>();
  const observe = (
    kind: ObservationKind,
    key: string,
    message: string,
    request?: Violation['request'],
  ) => {
    const seen = observations.get(key);
    if (seen) seen.count++;
    else observations.set(key, { kind, message, count: 1, ...(request && { request }) });
  };
  const byType: Record<string, number> = {};
  let bypassWrites = 0;
  let mapUnmapRequests = 0;
  let asyncRequests = 0;
  const ramKnown = events.some((e) => e.event === 'ram');

  for (const event of events) {
    if (event.event === 'features') replay.featuresAccepted(BigInt(event.negotiated));
    else if (event.event === 'config-write') {
      current = undefined;
      replay.writeConfig(event.offset, event.size, event.value);
      bypassWrites++;
    } else if (event.event === 'request') {
      const bytes = hexToBytes(event.readable);
      current = { seq: event.seq, line: event.line, readable: event.readable };
      const facts = requestFacts(bytes, core, ramKnown);
      const name =
        facts.type === undefined ? 'empty' : (requestTypeName(facts.type) ?? `type ${facts.type}`);
      byType[name] = (byType[name] ?? 0) + 1;
      if (facts.type === VIRTIO_IOMMU_T_MAP || facts.type === VIRTIO_IOMMU_T_UNMAP)
        mapUnmapRequests++;
      if (bytes.length < event.readable_length) {
        observe(
          'unforeseen',
          'cut',
          `the capture holds ${bytes.length} of the ${event.readable_length} device-readable bytes of a request; the rest was not judged`,
          current,
        );
      }
      const before = found.length;
      const served = replay.request(bytes, event.writable_length);
      // A finding without a statement is something the device saw that no statement covers.
      // `unserved`: the device refused the request or returned it unwritten.
      for (const { finding } of found.slice(before)) {
        if (finding.statement !== undefined) continue;
        observe(
          served.status === VIRTIO_IOMMU_S_OK ? 'unforeseen' : 'unserved',
          finding.message.replace(/0x[0-9a-f]+|\d+/g, 'N'),
          finding.message,
          current,
        );
      }
      facts.accepted = served.status === VIRTIO_IOMMU_S_OK;
      for (const [id, plan] of Object.entries(STATEMENT_PLAN)) {
        if (plan.kind === 'requests' && plan.applies(facts))
          checked.set(id, (checked.get(id) ?? 0) + 1);
      }
      disagreement(event, served.status, current, observe);
      if (event.writeback === false) asyncRequests++;
    }
  }
  if (asyncRequests > 0) {
    observe(
      'unforeseen',
      'async',
      `the driver queued ${asyncRequests} requests without waiting for their replies (writeback off): it never reads the status of these MAP and UNMAP requests, so a refused one goes unnoticed (compare drv.req.used-len-zero)`,
    );
  }

  const traced = events.find((e) => e.event === 'device-counts');
  if (traced?.event === 'device-counts') compareWithDeviceTrace(byType, traced.counts, observe);

  const run: RunFacts = {
    offers: (bit) => core.offers(bit),
    negotiated: (bit) => core.negotiated(bit),
    bypassWrites,
    mapUnmapRequests,
  };
  const verdicts = [...catalog.values()]
    .filter((s) => s.role === 'driver')
    .map((s): DriverVerdict => {
      const broken = found.filter((f) => f.finding.statement === s.id);
      const base = {
        statement: s.id,
        level: s.level,
        text: s.text,
        checked: 0,
        violationCount: broken.length,
      };
      const violations = broken
        .slice(0, KEEP)
        .map((f) => ({ message: f.finding.message, ...(f.request && { request: f.request }) }));
      const plan = STATEMENT_PLAN[s.id];
      if (!plan)
        return {
          ...base,
          verdict: 'untested',
          reason: 'driver-check has no way to judge this statement yet',
          violations,
        };
      if (plan.kind === 'untested')
        return { ...base, verdict: 'untested', reason: plan.reason, violations };
      if (plan.needs !== undefined && !core.negotiated(plan.needs) && broken.length === 0)
        return {
          ...base,
          verdict: 'not-applicable',
          reason: notNegotiated(plan.needs),
          violations,
        };
      let count: number;
      let what: string;
      if (plan.kind === 'run') {
        const judged = plan.judge(run);
        if ('untested' in judged && broken.length === 0)
          return { ...base, verdict: 'untested', reason: judged.untested, violations };
        count = 'count' in judged ? judged.count : 0;
        what = 'count' in judged ? judged.what : '';
      } else {
        count = checked.get(s.id) ?? 0;
        what = plan.what;
      }
      if (broken.length > 0)
        return {
          ...base,
          checked: count,
          verdict: 'fail',
          reason: `${broken.length} of ${count} ${what} break it`,
          violations,
        };
      if (count === 0)
        return { ...base, verdict: 'untested', reason: `the stream has no ${what}`, violations };
      return {
        ...base,
        checked: count,
        verdict: 'pass',
        reason: `checked on ${count} ${what}`,
        violations,
      };
    });
  return {
    verdicts,
    observations: [...observations.values()],
    requests: { total: Object.values(byType).reduce((a, b) => a + b, 0), byType },
  };
}

function requestFacts(
  bytes: Uint8Array,
  core: RequestReplay['core'],
  ramKnown: boolean,
): RequestFacts {
  const type = bytes.length >= 4 ? bytes[0] : undefined;
  const named =
    type === VIRTIO_IOMMU_T_ATTACH ||
    type === VIRTIO_IOMMU_T_DETACH ||
    type === VIRTIO_IOMMU_T_MAP ||
    type === VIRTIO_IOMMU_T_UNMAP;
  const domain = named ? u32(bytes, 4) : undefined;
  const existing = domain === undefined ? undefined : core.domains.get(domain);
  const hasRegions =
    existing !== undefined &&
    [...existing.endpoints].some((id) => (core.endpoints.get(id)?.reservedRegions.length ?? 0) > 0);
  return {
    type,
    ...(domain !== undefined && { domain }),
    ...(existing && { existingDomain: { bypass: existing.bypass } }),
    domainHasReservedRegions: hasRegions,
    accepted: false,
    ramKnown,
  };
}

/** Linux's errno for each status (viommu_get_req_errno), to compare QEMU's replies with device-ref's. */
function disagreement(
  event: RequestEvent,
  status: number | undefined,
  request: Violation['request'],
  observe: (
    kind: ObservationKind,
    key: string,
    message: string,
    request?: Violation['request'],
  ) => void,
): void {
  if (event.driver_result === undefined || status === undefined) return;
  const qemuOk = event.driver_result === 0;
  const refOk = status === VIRTIO_IOMMU_S_OK;
  if (qemuOk === refOk) return;
  const type = requestTypeName(hexToBytes(event.readable.slice(0, 2))[0] ?? 0) ?? 'request';
  observe(
    'device-disagrees',
    `disagree:${type}:${event.driver_result}:${status}`,
    `${type}: the captured device's reply made the driver return ${event.driver_result}, device-ref answers ${statusName(status) ?? status}`,
    request,
  );
}

/**
 * The captured device's own count of the requests it accepted, against what the driver built.
 * QEMU 7.2 traces ATTACH, DETACH and UNMAP on arrival and MAP once accepted: fewer there than
 * the driver built means the device read something else than the driver wrote (a buffer on a
 * vmalloc'd stack reads as zeros) or refused it.
 */
function compareWithDeviceTrace(
  built: Record<string, number>,
  traced: Record<string, number>,
  observe: (kind: ObservationKind, key: string, message: string) => void,
): void {
  for (const kind of ['attach', 'detach', 'map', 'unmap']) {
    const name = `VIRTIO_IOMMU_T_${kind.toUpperCase()}`;
    const driver = built[name] ?? 0;
    const device = traced[kind];
    if (device === undefined || device === driver) continue;
    observe(
      'device-disagrees',
      `count:${kind}`,
      `the driver built ${driver} ${name} requests and the device's trace shows ${device}: ${
        device < driver
          ? "the device refused some, or read other bytes than the driver wrote (a request built on a vmalloc'd stack reaches the device as zeros)"
          : 'the capture missed some requests'
      }`,
    );
  }
}
