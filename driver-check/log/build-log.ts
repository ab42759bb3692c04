// One event log from the two sides of a capture: QEMU's trace (the device's configuration,
// its reserved regions, the driver's configuration writes, its own counts) and the guest's
// data port (negotiated features, RAM, and every request buffer the driver built).

import type { GuestChannel } from '../capture/guest-channel.js';
import type { GuestTrace } from '../capture/guest-trace.js';
import type { QemuDeviceSide } from '../capture/qemu-trace.js';
import {
  hex64,
  hexBytes,
  type CaptureEvent,
  type LogEvent,
  type RequestEvent,
} from './event-log.js';

const VIRTIO_IOMMU_T_PROBE = 5;
const TAIL = 4;
/** The bypass field's offset in struct virtio_iommu_config. */
const BYPASS_OFFSET = 36;

export interface CaptureSides {
  meta: Omit<CaptureEvent, 'event'>;
  qemu: QemuDeviceSide;
  guest: GuestChannel;
  trace: GuestTrace;
}

/**
 * The device-readable part of a buffer of `length` bytes, split the way the driver splits it
 * when it queues the buffer: a PROBE's writable part is probe_size bytes of properties and the
 * tail, any other request's is the tail alone.
 */
export function readableLength(type: number, length: number, probeSize: number): number {
  const writable = TAIL + (type === VIRTIO_IOMMU_T_PROBE ? probeSize : 0);
  return Math.max(0, length - writable);
}

export function buildEventLog({ meta, qemu, guest, trace }: CaptureSides): LogEvent[] {
  const config = qemu.config;
  if (!config || qemu.offeredFeatures === undefined)
    throw new Error(
      "QEMU's trace has no virtio_iommu_get_config or get_features event: the driver never read the device",
    );
  if (guest.negotiatedFeatures === undefined)
    throw new Error("the guest's sysfs showed no virtio-iommu device: the driver did not bind");
  if (trace.entries.inBuffer !== trace.entries.written)
    throw new Error(
      `the guest's trace buffer lost events (${trace.entries.inBuffer} kept of ${trace.entries.written}): requests are missing`,
    );
  const events: LogEvent[] = [{ event: 'capture', ...meta }];
  events.push({
    event: 'device',
    offered_features: hex64(qemu.offeredFeatures),
    page_size_mask: hex64(config.page_size_mask),
    input_range: { start: hex64(config.input_range.start), end: hex64(config.input_range.end) },
    domain_range: config.domain_range,
    probe_size: config.probe_size,
    bypass: config.bypass ? 1 : 0,
    endpoints: [...qemu.endpoints].sort((a, b) => a - b),
  });
  const regions = new Set<string>();
  for (const r of qemu.reservedRegions) {
    const event: LogEvent = {
      event: 'reserved-region',
      endpoint: r.endpoint,
      subtype: r.subtype === 0 ? 0 : 1,
      start: hex64(r.start),
      end: hex64(r.end),
    };
    const key = JSON.stringify(event);
    if (!regions.has(key)) events.push(event);
    regions.add(key);
  }
  events.push({ event: 'features', negotiated: hex64(guest.negotiatedFeatures) });
  for (const r of guest.ram)
    events.push({ event: 'ram', start: hex64(r.start), end: hex64(r.end) });
  for (const value of qemu.bypassWrites)
    events.push({ event: 'config-write', offset: BYPASS_OFFSET, size: 1, value });

  const timeline: { line: number; event: LogEvent }[] = [
    ...trace.phases.map((p) => ({
      line: p.line,
      event: { event: 'phase' as const, name: p.name, time: p.time },
    })),
    ...trace.requests.map((r, i): { line: number; event: RequestEvent } => {
      const readable = readableLength(r.bytes[0]!, r.length, config.probe_size);
      const event: RequestEvent = {
        event: 'request',
        seq: i + 1,
        time: r.time,
        task: r.task,
        length: r.length,
        readable_length: readable,
        readable: hexBytes(r.bytes.subarray(0, readable)),
        writable_length: r.length - readable,
        writeback: r.writeback,
        ...(r.driverResult !== undefined && { driver_result: r.driverResult }),
      };
      return { line: r.line, event };
    }),
  ];
  timeline.sort((a, b) => a.line - b.line);
  events.push(...timeline.map((t) => t.event));
  events.push({ event: 'device-counts', counts: qemu.counts });
  return events;
}
