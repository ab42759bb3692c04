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
// What is watched and which fill it holds is watched-memory.ts's job.
//
// After writes, every watched byte is compared: a change where no planned write may land is
// an escape, a required byte that did not land is missing; both come with exact addresses.
// After a read, every byte that arrived is traced to the address (and step) it came from;
// one byte from a place the read may not reach is a leak. An empty findings list is a pass.

import type { AddressPattern } from './address-pattern.js';
import { FAR_FILL } from './far-fill.js';
import { formatSpan, hexAddress, runsOf, subtract, type Span } from './spans.js';
import { WatchedMemory, type JudgedMemory, type JudgeOptions } from './watched-memory.js';

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
  /** For an escape: the bytes found in `span`. */
  found?: Uint8Array;
}

export class DmaJudge {
  readonly #memory: WatchedMemory;

  constructor(memory: JudgedMemory, options: JudgeOptions) {
    this.#memory = new WatchedMemory(memory, options);
  }

  /** Watches `length` bytes at `address` and a guard zone either side (from the next prepare). */
  watch(address: bigint | number, length: number): void {
    this.#memory.watch(address, length);
  }

  /** True when [address, address + length) is guest RAM. */
  inRam(address: bigint | number, length: number): boolean {
    return this.#memory.inRam(address, length);
  }

  /**
   * Fills watched memory for the next judged transfers: the background once per session,
   * the guard zones with a new salt derived from `step` (a scenario and line, say).
   */
  prepare(step: string): Promise<void> {
    return this.#memory.prepare(step);
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
    const spans = this.#memory.watched;
    // Landing places outside the watched spans are read as well.
    const extra = subtract(runsOf([...allowed.keys()].sort((a, b) => a - b)), spans);
    await this.#memory.scan([...spans, ...extra], (address, value) => {
      const place = allowed.get(address);
      if (place !== undefined && writes[place.write]!.payload[place.offset] === value) {
        landed.add(address);
        return;
      }
      const fill = this.#memory.expectedAt(address);
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
        found: values,
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
    await this.#memory.restore([...escaped.map((e) => e.address), ...landed]);
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
      if (want !== undefined && this.#memory.expectedAt(want.address) === byte) {
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
    if (!this.#memory.prepared) throw new Error('DmaJudge: prepare() was not called');
  }

  /** Where the fill-class byte `bytes[index]` came from, and under which fill. */
  #trace(bytes: Uint8Array, index: number, suspects: readonly SuspectLine[]): Traced {
    const fills = this.#memory.fills;
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
    // Bytes of an earlier step's fill are stale: left in edu's buffer, not read now (watched
    // memory holds only the current guard-zone fill and the background).
    if (this.#memory.fillAt(address) === pattern) return { kind: 'from', address };
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
      const bytes = arrived.subarray(span.start, span.end);
      const where = FAR_FILL.holds(bytes)
        ? "the far fill's, from watched memory away from every target (it names no address)"
        : 'bytes of watched memory, from a place too short a run cannot name';
      return `hold ${hexBytes(bytes)}: ${where}`;
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
