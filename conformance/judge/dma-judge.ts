// The DMA judge: decides from the bytes themselves where a device's DMA went.
//
//   const judge = new DmaJudge(qtest, { window, exclude, ram });
//   judge.watch(target, length);            // guard zones around each physical target
//   await judge.prepare('scenario:line');    // fill the watched memory (new salt per step)
//   …the device writes…
//   const findings = await judge.judgeWrites([{ label, payload, landing }]);
//   …the device reads, edu's buffer is read back…
//   const findings = judge.judgeRead({ label, segments, lines }, arrived);
//
// Watched memory is the window (all RAM on device-ref, a few MiB on QEMU) plus a guard zone
// around every target ever watched, minus what the suite itself uses (queues, staging page).
// The window outside guard zones holds one background fill for the whole session; guard
// zones are refilled with a fresh salt by every prepare(), so bytes from an earlier step are
// told apart from fresh ones (address-pattern.ts explains the fill and why it is unambiguous).
//
// After writes, every watched byte is compared: a change where no planned write may land is
// an escape, a required byte that did not land is missing; both come with exact addresses.
// After a read, every byte that arrived is traced to the address (and step) it came from;
// one byte from a place the read may not reach is a leak. An empty findings list is a pass.

import { createHash } from 'node:crypto';
import { AddressPattern, CachedPattern } from './address-pattern.js';
import {
  contains,
  formatSpan,
  hexAddress,
  intersect,
  normalize,
  runsOf,
  subtract,
  type Span,
} from './spans.js';

/** Guest-physical memory as qtest offers it (QtestClient, or a fake in tests). */
export interface JudgedMemory {
  memread(address: bigint, length: number): Promise<Uint8Array>;
  memwrite(address: bigint, bytes: Uint8Array): Promise<void>;
  /**
   * The same in base64 (QtestClient has them): the background fill is the same in every
   * session, so its pieces are encoded once per process, and a piece read back is compared
   * as text with what was written, decoded only when it differs.
   */
  memreadBase64?(address: bigint, length: number): Promise<string>;
  memwriteBase64?(address: bigint, length: number, base64: string): Promise<void>;
}

export interface JudgeOptions {
  /** Watched for the whole session: all RAM on device-ref, a few MiB on QEMU. */
  window: readonly Span[];
  /**
   * Never watched: the suite's own queues and buffers, holes in RAM. A function is asked
   * again at every fill and comparison (the suite allocates queues as it goes).
   */
  exclude: readonly Span[] | (() => readonly Span[]);
  /** Where RAM is: guard zones are clipped to it. */
  ram: readonly Span[];
  /** Bytes watched either side of each target. Default 64 KiB. */
  guard?: number;
  /** Size of one b64read/b64write. Default 64 KiB (fastest measured on both targets). */
  pieceSize?: number;
}

/** Where the bytes [offset, offset + length) of a payload may (or must) land. */
export interface Landing {
  offset: number;
  length: number;
  /** Guest-physical address of payload byte `offset`. */
  address: number;
  /** True: the bytes must arrive; false: they may arrive or not (a partial transfer). */
  required: boolean;
}

/** A device write that was issued: what edu wrote, and where each byte may go. */
export interface PlannedWrite {
  /** Names the transfer in findings: `write of 16 bytes at IOVA 0xfff`. */
  label: string;
  payload: Uint8Array;
  /** Bytes not covered here may land nowhere. */
  landing: readonly Landing[];
}

/** Where the bytes [offset, offset + length) of a read may (or must) come from. */
export interface Source {
  offset: number;
  length: number;
  /** Guest-physical address byte `offset` must come from. */
  address: number;
  required: boolean;
}

/** A straight line of suspects: byte i may have come from `address + (i - offset)`. */
export interface SuspectLine {
  offset: number;
  address: number;
  /** Why this place is a suspect, for findings: `one page below`, `identity`. */
  why: string;
}

/** A device read that was issued: where each byte may come from. */
export interface PlannedRead {
  label: string;
  length: number;
  /** Bytes not covered here must not arrive from watched memory. */
  sources: readonly Source[];
  /** Places worth checking short runs against (identity address, old mappings…). */
  suspects?: readonly SuspectLine[];
}

/**
 * escape: a write changed memory where none of it may land. missing: bytes that must
 * arrive (land, or come from their place) did not. leak: a read delivered bytes from
 * watched memory where it may reach nothing. wrong-source: a byte that must come from one
 * place came from another.
 */
export type FindingKind = 'escape' | 'missing' | 'leak' | 'wrong-source';

export interface MemoryFinding {
  kind: FindingKind;
  /** Guest-physical addresses for escapes; byte offsets into the transfer for reads. */
  span: Span;
  text: string;
}

const DEFAULT_GUARD = 0x1_0000;
const DEFAULT_PIECE = 0x1_0000;
/** Pieces in flight at once: enough to keep the pipe full, few enough to bound memory. */
const IN_FLIGHT = 16;
/** The background fill: the same in every session, so generated once per process. */
const BACKGROUND = new CachedPattern(0x6a09_e667);
/**
 * The base64 of whole background pieces (DEFAULT_PIECE bytes on the piece grid), by address,
 * made once per process; at most this many (64 MiB of RAM, ~90 MB of text).
 */
const BACKGROUND_TEXT = new Map<number, string>();
const BACKGROUND_TEXT_PIECES = 1024;

export class DmaJudge {
  readonly #memory: JudgedMemory;
  readonly #windowOption: Span[];
  readonly #exclude: JudgeOptions['exclude'];
  readonly #ram: Span[];
  readonly #guardSize: number;
  readonly #piece: number;
  readonly #background: AddressPattern = BACKGROUND;
  /** Watched targets ± guard, clipped to RAM. */
  #guardZones: Span[] = [];
  #backgroundFilled = false;
  /** The fill of the guard zones since the last prepare(); earlier ones, newest first. */
  #current: AddressPattern | undefined;
  readonly #earlier: AddressPattern[] = [];
  #steps = 0;

  constructor(memory: JudgedMemory, options: JudgeOptions) {
    this.#memory = memory;
    this.#exclude = options.exclude;
    this.#ram = normalize(options.ram);
    this.#windowOption = intersect(options.window, this.#ram);
    this.#guardSize = options.guard ?? DEFAULT_GUARD;
    this.#piece = options.pieceSize ?? DEFAULT_PIECE;
  }

  /** Every watched address: the window and the guard zones. */
  get watched(): Span[] {
    return subtract([...this.#windowOption, ...this.#guardZones], this.#excluded());
  }

  /** Watches `length` bytes at `address` and a guard zone either side (from the next prepare). */
  watch(address: bigint | number, length: number): void {
    const start = Math.max(0, Number(address) - this.#guardSize);
    const end = Number(address) + length + this.#guardSize;
    const zone = intersect([{ start, end }], this.#ram);
    this.#guardZones = normalize([...this.#guardZones, ...zone]);
  }

  /** True when [address, address + length) is guest RAM. */
  inRam(address: bigint | number, length: number): boolean {
    const start = Number(address);
    return this.#ram.some((s) => start >= s.start && start + length <= s.end);
  }

  /** True when `address` is watched. */
  watches(address: bigint | number): boolean {
    return contains(this.watched, Number(address));
  }

  /**
   * Fills watched memory for the next judged transfers: the background once per session,
   * the guard zones with a new salt derived from `step` (a scenario and line, say).
   */
  async prepare(step: string): Promise<void> {
    if (!this.#backgroundFilled) {
      await this.#fill(this.#backgroundSpans(), this.#background);
      this.#backgroundFilled = true;
    }
    if (this.#current !== undefined) this.#earlier.unshift(this.#current);
    const digest = createHash('sha256').update(`${this.#steps++}:${step}`).digest();
    this.#current = new AddressPattern(digest.readUInt32LE(0));
    await this.#fill(this.#guards(), this.#current);
  }

  /** The byte watched memory holds at `address` since prepare(), if it is watched. */
  expectedAt(address: number): number | undefined {
    return this.#patternAt(address)?.byteAt(address);
  }

  /**
   * Compares all watched memory with the fill after `writes` were issued (since the last
   * prepare()). Whatever the device changed is restored, so the next judgement starts clean.
   */
  async judgeWrites(writes: readonly PlannedWrite[]): Promise<MemoryFinding[]> {
    this.#requirePrepared();
    const allowed = new Map<number, { write: number; offset: number; required: boolean }>();
    writes.forEach((write, w) => {
      for (const landing of write.landing) {
        for (let i = 0; i < landing.length; i++) {
          allowed.set(landing.address + i, {
            write: w,
            offset: landing.offset + i,
            required: landing.required,
          });
        }
      }
    });
    const escaped: Array<{ address: number; value: number }> = [];
    const landed = new Set<number>();
    const spans = this.watched;
    // Landing places outside the watched spans are read as well.
    const extra = subtract(runsOf([...allowed.keys()].sort((a, b) => a - b)), spans);
    await this.#scan([...spans, ...extra], (address, value) => {
      const place = allowed.get(address);
      if (place !== undefined && writes[place.write]!.payload[place.offset] === value) {
        landed.add(address);
        return;
      }
      const fill = this.expectedAt(address);
      // Unwatched landing places are read only to see whether their bytes landed.
      if (fill === undefined || value === fill) return;
      escaped.push({ address, value });
    });
    const findings: MemoryFinding[] = [];
    for (const run of groupRuns(escaped)) {
      const values = Uint8Array.from(run.values);
      findings.push({
        kind: 'escape',
        span: run.span,
        text: `${formatSpan(run.span)} changed where ${describeAllowed(run.span, allowed, writes)}: it holds ${this.#describeBytes(run.span, values, writes)}`,
      });
    }
    writes.forEach((write, w) => {
      for (const landing of write.landing) {
        if (!landing.required) continue;
        const missing: number[] = [];
        for (let i = 0; i < landing.length; i++) {
          const address = landing.address + i;
          if (!landed.has(address) && allowed.get(address)?.write === w) missing.push(address);
        }
        for (const span of runsOf(missing)) {
          const first = landing.offset + (span.start - landing.address);
          findings.push({
            kind: 'missing',
            span,
            text: `${write.label}: payload bytes ${first}..${first + span.end - span.start - 1} did not land at ${formatSpan(span)}`,
          });
        }
      }
    });
    await this.#restore([...escaped.map((e) => e.address), ...landed]);
    return findings;
  }

  /** Traces every byte of `arrived` (what a read delivered) to where it came from. */
  judgeRead(read: PlannedRead, arrived: Uint8Array): MemoryFinding[] {
    this.#requirePrepared();
    const expected: Array<{ address: number; required: boolean } | undefined> = [];
    for (const source of read.sources) {
      for (let i = 0; i < source.length; i++) {
        expected[source.offset + i] = { address: source.address + i, required: source.required };
      }
    }
    // What each byte is: from its expected place, from somewhere else, or nothing.
    const found: Array<Traced> = [];
    for (let i = 0; i < arrived.length; i++) {
      const want = expected[i];
      const byte = arrived[i]!;
      if (want !== undefined && this.expectedAt(want.address) === byte) {
        found.push({ kind: 'expected' });
      } else if ((byte & 0x80) === 0) {
        found.push({ kind: 'nothing' });
      } else {
        found.push(this.#trace(arrived, i, read.suspects ?? []));
      }
    }
    const findings: MemoryFinding[] = [];
    const leaks: number[] = [];
    const wrong: number[] = [];
    const missing: number[] = [];
    for (let i = 0; i < arrived.length; i++) {
      const f = found[i]!;
      if (f.kind === 'from' || f.kind === 'unknown')
        (expected[i] === undefined ? leaks : wrong).push(i);
      else if (f.kind !== 'expected' && expected[i]?.required === true) missing.push(i);
    }
    const spans = [
      ...runsOf(leaks).map((span) => ({ span, kind: 'leak' as const })),
      ...runsOf(wrong).map((span) => ({ span, kind: 'wrong-source' as const })),
    ].sort((a, b) => a.span.start - b.span.start);
    for (const { span, kind } of spans) {
      findings.push({
        kind,
        span,
        text: `${read.label}: bytes ${span.start}..${span.end - 1} ${this.#describeLeak(span, found, expected, arrived)}`,
      });
    }
    for (const span of runsOf(missing)) {
      const from = expected[span.start]!.address;
      const stale = found.slice(span.start, span.end).some((f) => f.kind === 'stale');
      findings.push({
        kind: 'missing',
        span,
        text: `${read.label}: bytes ${span.start}..${span.end - 1} did not come from ${formatSpan({ start: from, end: from + span.end - span.start })}: ${stale ? 'bytes of an earlier step arrived (nothing was transferred)' : `got ${hexBytes(arrived.subarray(span.start, span.end))}`}`,
      });
    }
    return findings;
  }

  // ---- internals ------------------------------------------------------------------------

  #requirePrepared(): void {
    if (this.#current === undefined) throw new Error('DmaJudge: prepare() was not called');
  }

  #excluded(): Span[] {
    return normalize(typeof this.#exclude === 'function' ? this.#exclude() : this.#exclude);
  }

  /** Guard zones without excluded memory. */
  #guards(): Span[] {
    return subtract(this.#guardZones, this.#excluded());
  }

  #backgroundSpans(): Span[] {
    return subtract(this.#windowOption, [...this.#guardZones, ...this.#excluded()]);
  }

  #patternAt(address: number): AddressPattern | undefined {
    if (contains(this.#excluded(), address)) return undefined;
    if (contains(this.#guardZones, address)) return this.#current;
    if (contains(this.#windowOption, address)) return this.#background;
    return undefined;
  }

  /** Where the fill-class byte `bytes[index]` came from, and under which fill. */
  #trace(bytes: Uint8Array, index: number, suspects: readonly SuspectLine[]): Traced {
    const fills = [this.#current!, this.#background, ...this.#earlier];
    const byte = bytes[index]!;
    for (const pattern of fills) {
      // A whole word of one fill around the byte names its address outright.
      const address = pattern.locate(bytes, index);
      if (address !== undefined) return this.#traced(address, pattern);
    }
    for (const pattern of fills) {
      for (const line of suspects) {
        const address = line.address + (index - line.offset);
        if (address >= 0 && pattern.byteAt(address) === byte) {
          return { ...this.#traced(address, pattern), why: line.why };
        }
      }
    }
    return { kind: 'unknown' };
  }

  #traced(address: number, pattern: AddressPattern): Extract<Traced, { address: number }> {
    // Bytes of an earlier step's fill are stale: left in edu's buffer, not read now.
    const live = pattern === this.#current || pattern === this.#background;
    if (live && this.#patternAt(address) === pattern) return { kind: 'from', address };
    return { kind: 'stale', address };
  }

  #describeLeak(
    span: Span,
    found: readonly Traced[],
    expected: ReadonlyArray<{ address: number } | undefined>,
    arrived: Uint8Array,
  ): string {
    const first = found[span.start]!;
    if (first.kind !== 'from') {
      return `hold ${hexBytes(arrived.subarray(span.start, span.end))}: bytes of watched memory, from a place too short a run cannot name`;
    }
    const from = { start: first.address, end: first.address + (span.end - span.start) };
    const want = expected[span.start];
    const where =
      want === undefined
        ? 'where the read may reach nothing'
        : `instead of from ${hexAddress(want.address)}`;
    const why = first.why === undefined ? '' : ` (${first.why})`;
    return `came from ${formatSpan(from)}${why}, ${where}`;
  }

  /**
   * Which payload bytes `values` (found at `span`) are: first those a write would put there
   * if its landing continued past its edges (the bytes a too-wide grant writes), then any
   * run of a payload that matches by value alone.
   */
  #describeBytes(span: Span, values: Uint8Array, writes: readonly PlannedWrite[]): string {
    const matches = (payload: Uint8Array, at: number): boolean =>
      at >= 0 &&
      at + values.length <= payload.length &&
      values.every((value, i) => payload[at + i] === value);
    for (const write of writes) {
      for (const landing of write.landing) {
        const at = landing.offset + (span.start - landing.address);
        if (matches(write.payload, at)) {
          return `payload bytes ${at}..${at + values.length - 1} of the ${write.label}`;
        }
      }
    }
    for (const write of writes) {
      const at = Buffer.from(write.payload).indexOf(Buffer.from(values));
      if (at !== -1) {
        return `bytes equal to payload bytes ${at}..${at + values.length - 1} of the ${write.label}`;
      }
    }
    return hexBytes(values);
  }

  /** Writes `pattern` over `spans`, in pipelined pieces. */
  async #fill(spans: readonly Span[], pattern: AddressPattern): Promise<void> {
    const memory = this.#memory;
    const pieces = this.#pieces(spans);
    await inFlight(pieces, (p) => {
      const text = memory.memwriteBase64 && this.#backgroundText(p, pattern);
      return text === undefined
        ? memory.memwrite(BigInt(p.start), pattern.bytes(p.start, p.end - p.start))
        : memory.memwriteBase64!(BigInt(p.start), p.end - p.start, text);
    });
  }

  /** Reads `spans` and calls `visit` for each byte that is not the fill's or not watched. */
  async #scan(
    spans: readonly Span[],
    visit: (address: number, value: number) => void,
  ): Promise<void> {
    const memory = this.#memory;
    const pieces = this.#pieces(normalize([...spans]));
    await inFlight(pieces, async (p) => {
      const parts = this.#byPattern(p);
      const only = parts.length === 1 ? parts[0]! : undefined;
      const text = memory.memreadBase64 && only?.pattern && this.#backgroundText(p, only.pattern);
      let actual: Uint8Array;
      if (text !== undefined) {
        const seen = await memory.memreadBase64!(BigInt(p.start), p.end - p.start);
        if (seen === text) return; // the very bytes the fill wrote
        actual = Buffer.from(seen, 'base64');
        if (actual.length !== p.end - p.start) {
          throw new Error(`b64read of ${formatSpan(p)}: the reply is not base64`);
        }
      } else actual = await memory.memread(BigInt(p.start), p.end - p.start);
      for (const part of parts) {
        const seen = actual.subarray(part.start - p.start, part.end - p.start);
        const fill = part.pattern?.bytes(part.start, part.end - part.start);
        if (fill !== undefined && Buffer.compare(seen, fill) === 0) continue;
        seen.forEach((value, i) => {
          if (fill === undefined || value !== fill[i]) visit(part.start + i, value);
        });
      }
    });
  }

  /** The cached base64 of a whole background piece `p`; undefined for any other piece. */
  #backgroundText(p: Span, pattern: AddressPattern): string | undefined {
    const whole = p.end - p.start === DEFAULT_PIECE && p.start % DEFAULT_PIECE === 0;
    if (pattern !== BACKGROUND || this.#piece !== DEFAULT_PIECE || !whole) return undefined;
    let text = BACKGROUND_TEXT.get(p.start);
    if (text === undefined) {
      text = Buffer.from(pattern.bytes(p.start, DEFAULT_PIECE)).toString('base64');
      if (BACKGROUND_TEXT.size < BACKGROUND_TEXT_PIECES) BACKGROUND_TEXT.set(p.start, text);
    }
    return text;
  }

  /** `span` cut where the pattern changes (guard zone, background, unwatched). */
  #byPattern(span: Span): Array<Span & { pattern: AddressPattern | undefined }> {
    const guards = intersect([span], this.#guards()).map((s) => ({
      ...s,
      pattern: this.#current,
    }));
    const background = intersect([span], this.#backgroundSpans()).map((s) => ({
      ...s,
      pattern: this.#background as AddressPattern | undefined,
    }));
    const unwatched = subtract([span], this.watched).map((s) => ({
      ...s,
      pattern: undefined as AddressPattern | undefined,
    }));
    return [...guards, ...background, ...unwatched];
  }

  /** `spans` cut on the piece grid (multiples of the piece size), so whole pieces recur. */
  #pieces(spans: readonly Span[]): Span[] {
    const out: Span[] = [];
    const piece = this.#piece;
    for (const span of spans) {
      for (let start = span.start; start < span.end;) {
        const end = Math.min(span.end, (Math.floor(start / piece) + 1) * piece);
        out.push({ start, end });
        start = end;
      }
    }
    return out;
  }

  /** Puts the fill back where a device changed watched memory. */
  async #restore(addresses: readonly number[]): Promise<void> {
    const runs = runsOf([...addresses].sort((a, b) => a - b));
    await Promise.all(
      runs.flatMap((run) =>
        this.#byPattern(run).flatMap((part) =>
          part.pattern === undefined
            ? []
            : [
                this.#memory.memwrite(
                  BigInt(part.start),
                  part.pattern.bytes(part.start, part.end - part.start),
                ),
              ],
        ),
      ),
    );
  }
}

type Traced =
  | { kind: 'expected' }
  | { kind: 'nothing' }
  | { kind: 'stale'; address: number; why?: string }
  | { kind: 'from'; address: number; why?: string }
  | { kind: 'unknown' };

function describeAllowed(
  span: Span,
  allowed: ReadonlyMap<number, { write: number }>,
  writes: readonly PlannedWrite[],
): string {
  const place = allowed.get(span.start);
  if (place === undefined) return 'no write may land';
  return `only the ${writes[place.write]!.label} may land, with other bytes`;
}

function groupRuns(
  points: ReadonlyArray<{ address: number; value: number }>,
): Array<{ span: Span; values: number[] }> {
  const sorted = [...points].sort((a, b) => a.address - b.address);
  const out: Array<{ span: Span; values: number[] }> = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last.span.end === p.address) {
      last.span.end++;
      last.values.push(p.value);
    } else out.push({ span: { start: p.address, end: p.address + 1 }, values: [p.value] });
  }
  return out;
}

function hexBytes(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return hex.length > 64 ? `${hex.slice(0, 64)}… (${bytes.length} bytes)` : hex;
}

/** Runs `work` over `items` with at most IN_FLIGHT at once. */
async function inFlight<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(IN_FLIGHT, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}
