// Small event logs written by hand: a device configured as QEMU 7.2 configures it, a driver
// that negotiated what Linux 6.12 negotiates, and requests laid out byte by byte as the spec
// lays them out (independent of the codecs device-ref uses).

import type { LogEvent, RequestEvent } from '../../log/event-log.js';
import { formatEventLog } from '../../log/event-log.js';

export const EP = 16;
export const EP2 = 0;
export const MSI = { start: 0xfee0_0000n, end: 0xfeef_ffffn };
export const RAM = { start: 0x10_0000n, end: 0x1ffd_ffffn };
/** INPUT_RANGE, DOMAIN_RANGE, MAP_UNMAP, PROBE, MMIO, BYPASS_CONFIG and VERSION_1, as QEMU 7.2 offers. */
export const OFFERED = 0x1_0179_0000_77n;
/** What Linux 6.12 negotiated with it. */
export const NEGOTIATED = 0x1_0000_0000_77n;
const PROBE_SIZE = 512;

export const T = { ATTACH: 1, DETACH: 2, MAP: 3, UNMAP: 4, PROBE: 5 } as const;

class Bytes {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  constructor(size: number, type: number) {
    this.bytes = new Uint8Array(size);
    this.#view = new DataView(this.bytes.buffer);
    this.bytes[0] = type;
  }
  u32(offset: number, value: number): this {
    this.#view.setUint32(offset, value, true);
    return this;
  }
  u64(offset: number, value: bigint): this {
    this.#view.setBigUint64(offset, value, true);
    return this;
  }
}

export const probe = (endpoint: number): Uint8Array =>
  new Bytes(72, T.PROBE).u32(4, endpoint).bytes;

export const attach = (domain: number, endpoint: number, flags = 0, reserved = 0): Uint8Array =>
  new Bytes(20, T.ATTACH).u32(4, domain).u32(8, endpoint).u32(12, flags).u32(16, reserved).bytes;

export const detach = (domain: number, endpoint: number): Uint8Array =>
  new Bytes(20, T.DETACH).u32(4, domain).u32(8, endpoint).bytes;

export const map = (
  domain: number,
  virt: bigint,
  size: bigint,
  phys: bigint,
  flags = 3,
): Uint8Array =>
  new Bytes(36, T.MAP)
    .u32(4, domain)
    .u64(8, virt)
    .u64(16, virt + size - 1n)
    .u64(24, phys)
    .u32(32, flags).bytes;

export const unmap = (domain: number, virt: bigint, size: bigint): Uint8Array =>
  new Bytes(28, T.UNMAP)
    .u32(4, domain)
    .u64(8, virt)
    .u64(16, virt + size - 1n).bytes;

const hex64 = (v: bigint): string => `0x${v.toString(16)}`;

export interface HandLogOptions {
  negotiated?: bigint;
  ram?: boolean;
  /** Values the driver wrote to bypass. */
  bypassWrites?: number[];
  /** What the driver made of the reply, by request number (1-based). */
  driverResults?: Record<number, number>;
  /** The device's own counts of accepted requests (QEMU's trace). */
  deviceCounts?: Record<string, number>;
}

export function handLogEvents(requests: Uint8Array[], options: HandLogOptions = {}): LogEvent[] {
  const events: LogEvent[] = [
    {
      event: 'capture',
      tool: 'hand',
      kernel: '6.12.0-hand',
      mode: 'strict',
      startedAt: '2026-01-01T00:00:00Z',
    },
    {
      event: 'device',
      offered_features: hex64(OFFERED),
      page_size_mask: '0xfffffffffffff000',
      input_range: { start: '0x0', end: '0xffffffffffffffff' },
      domain_range: { start: 0, end: 0xffff_ffff },
      probe_size: PROBE_SIZE,
      bypass: 1,
      endpoints: [EP2, EP],
    },
    {
      event: 'reserved-region',
      endpoint: EP,
      subtype: 1,
      start: hex64(MSI.start),
      end: hex64(MSI.end),
    },
    { event: 'features', negotiated: hex64(options.negotiated ?? NEGOTIATED) },
  ];
  if (options.ram !== false)
    events.push({ event: 'ram', start: hex64(RAM.start), end: hex64(RAM.end) });
  for (const value of options.bypassWrites ?? [])
    events.push({ event: 'config-write', offset: 36, size: 1, value });
  requests.forEach((bytes, i) => {
    const writable = 4 + (bytes[0] === T.PROBE ? PROBE_SIZE : 0);
    const request: RequestEvent = {
      event: 'request',
      seq: i + 1,
      length: bytes.length + writable,
      readable_length: bytes.length,
      readable: Buffer.from(bytes).toString('hex'),
      writable_length: writable,
      ...(options.driverResults?.[i + 1] !== undefined && {
        writeback: true,
        driver_result: options.driverResults[i + 1],
      }),
    };
    events.push(request);
  });
  if (options.deviceCounts) events.push({ event: 'device-counts', counts: options.deviceCounts });
  return events;
}

export function handLog(requests: Uint8Array[], options: HandLogOptions = {}): string {
  return formatEventLog(handLogEvents(requests, options));
}
