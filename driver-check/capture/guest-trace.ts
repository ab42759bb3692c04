// The guest's ftrace buffer as the guest printed it (/sys/kernel/tracing/trace): the kprobe on
// the driver's __viommu_add_req, which holds each request's bytes, the kretprobe on
// viommu_send_req_sync, which holds what the driver made of a synchronous request's reply,
// and the phase markers the workload wrote.
//
// The probe definitions live here too, so that what the guest records and what this parser
// reads cannot drift apart.

/** 64-bit words of each request buffer the kprobe fetches: 128 bytes, more than any request's readable part. */
export const FETCHED_WORDS = 16;

/** The kprobe_events lines the guest's init writes (module symbols: armed when the module loads). */
export const KPROBE_DEFINITIONS = [
  // __viommu_add_req(viommu, buf, len, writeback): %si = buf, %dx = len, %cx = writeback.
  `p:viommu/req virtio_iommu:__viommu_add_req len=%dx:u64 writeback=%cx:u8 buf=+0(%si):x64[${FETCHED_WORDS}]`,
  'r:viommu/sync virtio_iommu:viommu_send_req_sync ret=$retval:s32',
] as const;

export interface TracedRequest {
  /** 1-based line of the trace text, for errors. */
  line: number;
  /** Seconds since the guest booted. */
  time: number;
  task: string;
  /** The whole buffer: device-readable and device-writable parts. */
  length: number;
  /** The driver copies the device's reply back (it waits for the request). */
  writeback: boolean;
  /** The first FETCHED_WORDS * 8 bytes of the buffer. */
  bytes: Uint8Array;
  /** What viommu_send_req_sync returned for this request: 0 or a negative errno. */
  driverResult?: number;
}

export interface TracePhase {
  /** 1-based line of the trace text: phases and requests keep the trace's order. */
  line: number;
  name: string;
  time: number;
}

export interface GuestTrace {
  requests: TracedRequest[];
  phases: TracePhase[];
  /** Events the ring buffer held and events written: lost events make these differ. */
  entries: { inBuffer: number; written: number };
}

const LINE = /^\s*(.+?)\s+\[\d+\]\s+\S+\s+(\d+\.\d+):\s+(\w+):\s+(.*)$/;
const ENTRIES = /entries-in-buffer\/entries-written:\s+(\d+)\/(\d+)/;

export class TraceFormatError extends Error {}

function fail(line: number, message: string, text: string): never {
  throw new TraceFormatError(`guest trace line ${line}: ${message}: ${text.slice(0, 160)}`);
}

function field(body: string, name: string): string | undefined {
  return new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(body)?.[1];
}

/** Reads the words of `buf={0x..,0x..}` as little-endian bytes. */
function wordsToBytes(list: string, line: number, text: string): Uint8Array {
  const words = list.replace(/^\{|\}$/g, '').split(',');
  if (words.length !== FETCHED_WORDS)
    fail(line, `${words.length} words, not ${FETCHED_WORDS}`, text);
  const bytes = new Uint8Array(words.length * 8);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => {
    if (!/^0x[0-9a-f]{1,16}$/.test(word)) fail(line, `"${word}" is not a 64-bit hex word`, text);
    view.setBigUint64(i * 8, BigInt(word), true);
  });
  return bytes;
}

function number(value: string | undefined, line: number, text: string, name: string): number {
  if (value === undefined) fail(line, `no ${name}=`, text);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) fail(line, `${name}=${value} is not a number`, text);
  return n;
}

export function parseGuestTrace(text: string): GuestTrace {
  const requests: TracedRequest[] = [];
  const phases: TracePhase[] = [];
  let entries: GuestTrace['entries'] | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const counted = ENTRIES.exec(raw);
    if (counted) entries = { inBuffer: Number(counted[1]), written: Number(counted[2]) };
    if (raw.startsWith('#') || raw.trim() === '') return;
    const match = LINE.exec(raw);
    if (!match) fail(line, 'not a trace event', raw);
    const [, task, time, event, body] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (event === 'req') {
      const buf = field(body, 'buf');
      if (buf === undefined) fail(line, 'no buf=', raw);
      requests.push({
        line,
        time: Number(time),
        task: task.trim(),
        length: number(field(body, 'len'), line, raw, 'len'),
        writeback: number(field(body, 'writeback'), line, raw, 'writeback') !== 0,
        bytes: wordsToBytes(buf, line, raw),
      });
    } else if (event === 'sync') {
      // The newest synchronous request still waiting: requests queued without waiting (a MAP
      // from another context) can land between a synchronous request and its return.
      const last = [...requests].reverse().find((r) => r.writeback && r.driverResult === undefined);
      if (!last)
        fail(line, 'a viommu_send_req_sync return without a synchronous request before it', raw);
      last.driverResult = number(field(body, 'ret'), line, raw, 'ret');
    } else if (event === 'tracing_mark_write') {
      const phase = /^phase (\S+)/.exec(body);
      if (phase) phases.push({ line, name: phase[1]!, time: Number(time) });
    }
  });
  if (!entries)
    throw new TraceFormatError('guest trace: no "entries-in-buffer/entries-written" header');
  return { requests, phases, entries };
}
