// How each driver statement of the spec is judged from a captured stream. Device-ref's findings
// say when a statement is broken; this plan says, for each statement, which requests (or which
// facts of the run) it applies to, so that a statement that was never put to the test is
// `untested` rather than passed. A statement that no request stream can show is `untested`
// with the reason.

import {
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_T_ATTACH,
  VIRTIO_IOMMU_T_DETACH,
  VIRTIO_IOMMU_T_MAP,
  VIRTIO_IOMMU_T_PROBE,
  VIRTIO_IOMMU_T_UNMAP,
  featureName,
} from '../../dist/ts/index.js';

/** What the judge knows about one request, before the replayed device served it. */
export interface RequestFacts {
  type: number | undefined;
  /** The domain the request names (ATTACH, DETACH, MAP, UNMAP). */
  domain?: number;
  /** Whether that domain existed before the request, and was a bypass domain. */
  existingDomain?: { bypass: boolean };
  /** Some endpoint of that domain has reserved regions. */
  domainHasReservedRegions: boolean;
  /** The replayed device accepted it (status VIRTIO_IOMMU_S_OK). */
  accepted: boolean;
  /** The log has the guest's RAM. */
  ramKnown: boolean;
}

/** What the judge knows about the whole run. */
export interface RunFacts {
  offers(bit: number): boolean;
  negotiated(bit: number): boolean;
  bypassWrites: number;
  mapUnmapRequests: number;
}

type RunJudgement = { count: number; what: string } | { untested: string };

export type StatementPlan =
  | { kind: 'requests'; what: string; needs?: number; applies: (r: RequestFacts) => boolean }
  | { kind: 'run'; needs?: number; judge: (run: RunFacts) => RunJudgement }
  | { kind: 'untested'; reason: string };

const isType =
  (...types: number[]) =>
  (r: RequestFacts): boolean =>
    r.type !== undefined && types.includes(r.type);

const map = isType(VIRTIO_IOMMU_T_MAP);
const unmap = isType(VIRTIO_IOMMU_T_UNMAP);

/** A statement judged on each request `applies` picks (`what` names them), with feature `needs`. */
function onRequests(
  what: string,
  applies: (r: RequestFacts) => boolean,
  needs?: number,
): StatementPlan {
  return needs === undefined
    ? { kind: 'requests', what, applies }
    : { kind: 'requests', what, needs, applies };
}

const MAP_REQUESTS = onRequests('MAP requests', map);
const UNMAP_REQUESTS = onRequests('UNMAP requests', unmap);
const PROBE_REQUESTS = onRequests('PROBE requests', isType(VIRTIO_IOMMU_T_PROBE));
const ACCEPTED_MAPS_OF_RAM = onRequests(
  'accepted MAP requests, against the guest RAM',
  (r) => map(r) && r.accepted && r.ramKnown,
);

/** Judged on the run's writes to bypass. */
const BYPASS_WRITES: StatementPlan = {
  kind: 'run',
  judge: (run) =>
    run.bypassWrites > 0
      ? { count: run.bypassWrites, what: 'writes to bypass' }
      : { untested: 'the driver never wrote bypass' },
};

const READS_REPLIES: StatementPlan = {
  kind: 'untested',
  reason:
    'it is about how the driver reads what the device writes; a request stream shows what the driver sends, not what it made of a reply, and QEMU 7.2 cannot be made to write such a reply',
};

export const STATEMENT_PLAN: Readonly<Record<string, StatementPlan>> = {
  'drv.features.accept': {
    kind: 'run',
    judge: (run) =>
      [VIRTIO_IOMMU_F_INPUT_RANGE, VIRTIO_IOMMU_F_DOMAIN_RANGE, VIRTIO_IOMMU_F_PROBE].some((b) =>
        run.offers(b),
      )
        ? { count: 1, what: 'feature negotiation' }
        : { untested: 'the device offered none of F_INPUT_RANGE, F_DOMAIN_RANGE, F_PROBE' },
  },
  'drv.config.bypass-write': BYPASS_WRITES,
  'drv.config.read-only': {
    kind: 'run',
    judge: (run) =>
      run.bypassWrites === 0
        ? { count: 1, what: 'run without a configuration write (QEMU traces every one)' }
        : {
            untested:
              "QEMU's trace shows a configuration write only by the value of bypass after it, not by the bytes written",
          },
  },
  'drv.config.bypass-value': BYPASS_WRITES,
  'drv.config.bypass-upper-bits': READS_REPLIES,
  'drv.init.map-unmap': {
    kind: 'run',
    needs: VIRTIO_IOMMU_F_MAP_UNMAP,
    judge: (run) =>
      run.mapUnmapRequests > 0
        ? { count: run.mapUnmapRequests, what: 'MAP and UNMAP requests' }
        : {
            untested:
              'the driver negotiated VIRTIO_IOMMU_F_MAP_UNMAP and this workload made it send no MAP or UNMAP',
          },
  },
  'drv.init.probe-before-attach': onRequests(
    'ATTACH requests',
    isType(VIRTIO_IOMMU_T_ATTACH),
    VIRTIO_IOMMU_F_PROBE,
  ),
  'drv.req.head-reserved': onRequests('requests', (r) => r.type !== undefined),
  'drv.req.tail-reserved': READS_REPLIES,
  'drv.req.used-len-zero': READS_REPLIES,
  'drv.req.input-range': onRequests(
    'MAP and UNMAP requests',
    isType(VIRTIO_IOMMU_T_MAP, VIRTIO_IOMMU_T_UNMAP),
    VIRTIO_IOMMU_F_INPUT_RANGE,
  ),
  'drv.req.domain-range': onRequests(
    'ATTACH, DETACH, MAP and UNMAP requests',
    isType(VIRTIO_IOMMU_T_ATTACH, VIRTIO_IOMMU_T_DETACH, VIRTIO_IOMMU_T_MAP, VIRTIO_IOMMU_T_UNMAP),
    VIRTIO_IOMMU_F_DOMAIN_RANGE,
  ),
  'drv.attach.reserved': onRequests('ATTACH requests', isType(VIRTIO_IOMMU_T_ATTACH)),
  'drv.attach.isolation': {
    kind: 'untested',
    reason:
      'it needs to know which endpoints the platform cannot isolate from one another, which the stream does not carry',
  },
  'drv.attach.bypass-flag-set': onRequests(
    'ATTACH requests to an existing bypass domain',
    (r) => r.type === VIRTIO_IOMMU_T_ATTACH && r.existingDomain?.bypass === true,
  ),
  'drv.attach.bypass-flag-clear': onRequests(
    'ATTACH requests to an existing ordinary domain',
    (r) => r.type === VIRTIO_IOMMU_T_ATTACH && r.existingDomain?.bypass === false,
  ),
  'drv.detach.reserved': onRequests('DETACH requests', isType(VIRTIO_IOMMU_T_DETACH)),
  'drv.map.flags-undefined': MAP_REQUESTS,
  'drv.map.bypass-domain': MAP_REQUESTS,
  'drv.map.virt-end': MAP_REQUESTS,
  'drv.map.mmio-flag': ACCEPTED_MAPS_OF_RAM,
  'drv.map.single-memory-type': ACCEPTED_MAPS_OF_RAM,
  'drv.map.read-flag': {
    kind: 'untested',
    reason:
      'it depends on whether endpoints are meant to read through the mapping, an intent the stream does not carry',
  },
  'drv.map.mmio-feature': MAP_REQUESTS,
  'drv.unmap.reserved': UNMAP_REQUESTS,
  'drv.unmap.whole-mappings': UNMAP_REQUESTS,
  'drv.unmap.spill': {
    kind: 'untested',
    reason:
      'a MAY that no request can break: an UNMAP may or may not extend over unmapped addresses',
  },
  'drv.unmap.first-address': UNMAP_REQUESTS,
  'drv.unmap.last-address': UNMAP_REQUESTS,
  'drv.unmap.bypass-domain': UNMAP_REQUESTS,
  'drv.probe.buffer-size': PROBE_REQUESTS,
  'drv.probe.reserved': PROBE_REQUESTS,
  'drv.probe.unknown-type': READS_REPLIES,
  'drv.probe.length-from-type': READS_REPLIES,
  'drv.probe.property-reserved': READS_REPLIES,
  'drv.probe.keep-parsing': READS_REPLIES,
  'drv.resv-mem.no-map': onRequests(
    'MAP requests into a domain whose endpoints have reserved regions',
    (r) => map(r) && r.domainHasReservedRegions,
  ),
  'drv.resv-mem.reserved': READS_REPLIES,
  'drv.resv-mem.unknown-subtype': READS_REPLIES,
  'drv.fault.reserved': READS_REPLIES,
  'drv.fault.second-reserved': READS_REPLIES,
  'drv.fault.undefined-flags': READS_REPLIES,
  'drv.fault.unknown-reason': READS_REPLIES,
};

/** `VIRTIO_IOMMU_F_PROBE was not negotiated`, for not-applicable verdicts. */
export function notNegotiated(bit: number): string {
  return `${featureName(bit)} was not negotiated`;
}
