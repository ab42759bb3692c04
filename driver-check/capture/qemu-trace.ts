// QEMU's side, from its `virtio_iommu_*` trace events (log backend, -D FILE): the configuration
// the driver read, the features offered, the endpoints behind the IOMMU, the reserved regions
// PROBE returned, the driver's writes to the configuration, and how many requests of each type
// QEMU accepted. QEMU 7.2 traces no status and no refused MAP: what is not here is not known.

const U32 = 0x1_0000_0000;

export interface QemuDeviceSide {
  /** All 64 feature bits QEMU offered. */
  offeredFeatures?: bigint;
  config?: {
    page_size_mask: bigint;
    input_range: { start: bigint; end: bigint };
    domain_range: { start: number; end: number };
    probe_size: number;
    bypass: number;
  };
  /** Endpoint IDs (bus 0: the devfn) of the functions behind the IOMMU. */
  endpoints: number[];
  reservedRegions: { endpoint: number; subtype: number; start: bigint; end: bigint }[];
  /** Values of `bypass` the driver wrote (QEMU traces each config write with it). */
  bypassWrites: number[];
  /** Events QEMU traced per kind: attach, detach, map, unmap, unmap_done, report_fault. */
  counts: Record<string, number>;
}

const COUNTED = ['attach', 'detach', 'map', 'unmap', 'unmap_done', 'report_fault'];

const CONFIG =
  /page_size_mask=(0x[0-9a-f]+) input range start=(0x[0-9a-f]+) input range end=(0x[0-9a-f]+) domain range start=(-?\d+) domain range end=(-?\d+) probe_size=(0x[0-9a-f]+) bypass=(0x[0-9a-f]+)/;
const RESV = /dev=\s*(\d+), type=(\d+) start=(0x[0-9a-f]+) end=(0x[0-9a-f]+)/;
const REGION_NAME = /virtio-iommu-memory-region-\d+-(\d+)/;

/** QEMU prints the 32-bit domain range with %d: -1 is 0xffffffff. */
const u32 = (text: string): number => (Number(text) + U32) % U32;

export function parseQemuTrace(text: string): QemuDeviceSide {
  const side: QemuDeviceSide = {
    endpoints: [],
    reservedRegions: [],
    bypassWrites: [],
    counts: Object.fromEntries(COUNTED.map((k) => [k, 0])),
  };
  for (const raw of text.split('\n')) {
    // With -msg timestamp=on a line starts with a time and a pid; the event name follows.
    const match = /(?:^|\s)virtio_iommu_(\w+)\s?(.*)$/.exec(raw);
    if (!match) continue;
    const [, event, body] = match as unknown as [string, string, string];
    if (COUNTED.includes(event)) side.counts[event]!++;
    if (event === 'get_features') {
      const features = /features=(0x[0-9a-f]+)/.exec(body);
      if (features) side.offeredFeatures = BigInt(features[1]!);
    } else if (event === 'get_config') {
      const c = CONFIG.exec(body);
      if (c) {
        side.config = {
          page_size_mask: BigInt(c[1]!),
          input_range: { start: BigInt(c[2]!), end: BigInt(c[3]!) },
          domain_range: { start: u32(c[4]!), end: u32(c[5]!) },
          probe_size: Number(c[6]),
          bypass: Number(c[7]),
        };
      }
    } else if (event === 'init_iommu_mr') {
      const devfn = REGION_NAME.exec(body);
      if (devfn && !side.endpoints.includes(Number(devfn[1])))
        side.endpoints.push(Number(devfn[1]));
    } else if (event === 'fill_resv_property') {
      const r = RESV.exec(body);
      if (r) {
        side.reservedRegions.push({
          endpoint: Number(r[1]),
          subtype: Number(r[2]),
          start: BigInt(r[3]!),
          end: BigInt(r[4]!),
        });
      }
    } else if (event === 'set_config') {
      const bypass = /bypass=(0x[0-9a-f]+|\d+)/.exec(body);
      if (bypass) side.bypassWrites.push(Number(bypass[1]));
    }
  }
  return side;
}
