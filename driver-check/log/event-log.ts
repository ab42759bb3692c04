// The event log: one JSON object per line (schemas/driver-event-log.schema.json). A capture
// writes it, the judge reads it; a log saved with --save-log, or written by hand, is judged
// the same way. Reading checks every line and names the line of the first problem.

import { readFileSync } from 'node:fs';
import { validate } from '../../dist/ts/validators/driver-event-log.js';

export interface CaptureEvent {
  event: 'capture';
  tool: string;
  kernel: string;
  source?: string;
  mode: string;
  qemu?: string;
  startedAt: string;
  bootMs?: number;
}

export interface DeviceEvent {
  event: 'device';
  offered_features: string;
  page_size_mask: string;
  input_range: { start: string; end: string };
  domain_range: { start: number; end: number };
  probe_size: number;
  bypass: 0 | 1;
  endpoints: number[];
}

export interface ReservedRegionEvent {
  event: 'reserved-region';
  endpoint: number;
  subtype: 0 | 1;
  start: string;
  end: string;
}

export interface FeaturesEvent {
  event: 'features';
  negotiated: string;
}

export interface RamEvent {
  event: 'ram';
  start: string;
  end: string;
}

export interface ConfigWriteEvent {
  event: 'config-write';
  offset: number;
  size: 1 | 2 | 4;
  value: number;
}

export interface PhaseEvent {
  event: 'phase';
  name: string;
  time: number;
}

export interface RequestEvent {
  event: 'request';
  seq: number;
  time?: number;
  task?: string;
  length: number;
  readable_length: number;
  readable: string;
  writable_length: number;
  writeback?: boolean;
  driver_result?: number;
}

export interface DeviceCountsEvent {
  event: 'device-counts';
  counts: Record<string, number>;
}

export type LogEvent =
  | CaptureEvent
  | DeviceEvent
  | ReservedRegionEvent
  | FeaturesEvent
  | RamEvent
  | ConfigWriteEvent
  | PhaseEvent
  | RequestEvent
  | DeviceCountsEvent;

/** An event and the line of the log it came from. */
export type LoggedEvent = LogEvent & { line: number };

export const hex64 = (value: bigint): string => `0x${value.toString(16)}`;

export const hexBytes = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export function formatEventLog(events: readonly LogEvent[]): string {
  return events.map((e) => `${JSON.stringify(e)}\n`).join('');
}

export class EventLogError extends Error {}

/**
 * Reads a log's text; `name` names it in errors (`NAME:LINE: …`). Throws an EventLogError on a
 * line that is not JSON (a truncated line, for one), an event the schema refuses, or events
 * out of order.
 */
export function parseEventLog(text: string, name: string): LoggedEvent[] {
  const events: LoggedEvent[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const fail = (message: string): never => {
      throw new EventLogError(`${name}:${line}: ${message}`);
    };
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (error) {
      fail(
        `not a JSON object (${(error as Error).message}); is the line broken or cut short? ${JSON.stringify(raw.slice(0, 80))}`,
      );
    }
    if (!validate(data)) {
      const problems = (validate.errors ?? [])
        .filter((e) => e.keyword !== 'if')
        .map((e) => `${e.instancePath || '(the event)'} ${e.message ?? 'is invalid'}`);
      fail(`${(data as { event?: unknown })?.event ?? 'event'}: ${problems.join('; ')}`);
    }
    const event = data as LogEvent;
    if (line === 1 && event.event !== 'capture') fail('the first event must be "capture"');
    if (line > 1 && event.event === 'capture') fail('a second "capture" event');
    if (event.event === 'request') {
      const seen = (kind: string) => events.some((e) => e.event === kind);
      if (!seen('device')) fail('a request before the "device" event');
      if (!seen('features')) fail('a request before the "features" event');
      if (event.readable.length / 2 > event.readable_length)
        fail(`readable holds ${event.readable.length / 2} bytes, more than readable_length`);
      if (event.readable_length + event.writable_length !== event.length)
        fail('readable_length + writable_length is not length');
    }
    events.push({ ...event, line });
  });
  if (events.length === 0) throw new EventLogError(`${name}: the log is empty`);
  return events;
}

export function readEventLog(path: string, shownAs = path): LoggedEvent[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new EventLogError(`${shownAs}: cannot read the log (${(error as Error).message})`);
  }
  return parseEventLog(text, shownAs);
}
