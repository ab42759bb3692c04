// The memory the DMA judge watches, and what it holds: which addresses are watched, which
// fill each one holds, and the reads and writes that put the fill there and read it back.
//
// Watched memory is the window (all RAM on device-ref, a few MiB on QEMU) plus a guard zone
// around every target ever watched, minus what the suite itself uses (queues, staging page).
// Guard zones hold one background fill, an address pattern, for the whole session (a zone gets
// it when first watched), except a page either side of every target: those salt zones are
// refilled with a fresh salt by every prepare(), so bytes from an earlier step are told apart
// from fresh ones (address-pattern.ts explains the fill and why it is unambiguous). A read may
// bring bytes only from its targets, so an earlier step's bytes come from salt zones, and they
// alone need the step's salt. The rest of the window, away from every target, holds the far
// fill, one byte written by memset (far-fill.ts): it shows any change as well, and costs a
// command where the pattern cost MiBs of data.
// Memory moves in pieces on a fixed grid, many in flight; a whole piece of the background or
// of the far fill is written from base64 made once per process and compared as text when read
// back.

import { createHash } from 'node:crypto';
import { AddressPattern, CachedPattern } from './address-pattern.js';
import { FAR_FILL, type Fill } from './far-fill.js';
import {
  contains,
  formatSpan,
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
  memwriteBase64?(address: bigint, length: number, base64: string | Uint8Array): Promise<void>;
  /** Fills `length` bytes with `byte` in one command (QtestClient has it): the far fill. */
  memset?(address: bigint, length: number, byte: number): Promise<void>;
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

const DEFAULT_GUARD = 0x1_0000;
/** Bytes either side of each target that every prepare() refills with the step's salt. */
const SALT_REACH = 0x1000;
const DEFAULT_PIECE = 0x1_0000;
/**
 * Pieces sent together: with the default piece size 4 MiB, more than a suite's window (so that
 * a read-back is one round trip), and few enough to bound memory (~5.5 MB of base64 replies).
 */
const WAVE_PIECES = 64;
/** The background fill: the same in every session, so generated once per process. */
const BACKGROUND = new CachedPattern(0x6a09_e667);
/**
 * The base64 of whole background pieces (DEFAULT_PIECE bytes on the piece grid), by address,
 * made once per process, as text (compared with what a b64read brings back) and as its ASCII
 * bytes (what a b64write sends, without a string-to-bytes pass per session); at most this
 * many (64 MiB of RAM, ~180 MB).
 */
const BACKGROUND_TEXT = new Map<number, BackgroundPiece>();
const BACKGROUND_TEXT_PIECES = 1024;
/** The base64 of a whole piece of the far fill: the same for every piece. */
let farText: BackgroundPiece | undefined;

export class WatchedMemory {
  readonly #memory: JudgedMemory;
  readonly #windowOption: Span[];
  readonly #exclude: JudgeOptions['exclude'];
  readonly #ram: Span[];
  readonly #guardSize: number;
  readonly #saltReach: number;
  readonly #piece: number;
  readonly #background: AddressPattern = BACKGROUND;
  /** Watched targets ± guard, clipped to RAM. */
  #guardZones: Span[] = [];
  /** Watched targets ± SALT_REACH, clipped to RAM: what holds the step's own salt. */
  #saltZones: Span[] = [];
  /** Where the background has been written (it is written once per place and session). */
  #backgroundWritten: Span[] = [];
  /** Where the far fill has been written (once per place and session, like the background). */
  #farWritten: Span[] = [];
  /** Bumped by watch(): the cached #layout() is stale. */
  #zonesChanged = 0;
  #cachedLayout: (Layout & { zones: number; excluded: Span[] }) | undefined;
  /** The fill of the salt zones since the last prepare(); earlier ones, newest first. */
  #current: AddressPattern | undefined;
  readonly #earlier: AddressPattern[] = [];
  #steps = 0;

  constructor(memory: JudgedMemory, options: JudgeOptions) {
    this.#memory = memory;
    this.#exclude = options.exclude;
    this.#ram = normalize(options.ram);
    this.#windowOption = intersect(options.window, this.#ram);
    this.#guardSize = options.guard ?? DEFAULT_GUARD;
    this.#saltReach = Math.min(SALT_REACH, this.#guardSize);
    this.#piece = options.pieceSize ?? DEFAULT_PIECE;
  }

  /** Every watched address: the window and the guard zones. */
  get watched(): Span[] {
    return this.#layout().watched;
  }

  /** Watches `length` bytes at `address` and a guard zone either side (from the next prepare). */
  watch(address: bigint | number, length: number): void {
    const around = (reach: number): Span[] =>
      intersect(
        [{ start: Math.max(0, Number(address) - reach), end: Number(address) + length + reach }],
        this.#ram,
      );
    this.#guardZones = normalize([...this.#guardZones, ...around(this.#guardSize)]);
    this.#saltZones = normalize([...this.#saltZones, ...around(this.#saltReach)]);
    this.#zonesChanged++;
  }

  /** True when [address, address + length) is guest RAM. */
  inRam(address: bigint | number, length: number): boolean {
    const start = Number(address);
    return this.#ram.some((s) => start >= s.start && start + length <= s.end);
  }

  /**
   * Fills watched memory for the next judged transfers: the far fill and the background where
   * they were not written yet this session (the window at first, then each new guard zone),
   * the salt zones with a new salt derived from `step` (a scenario and line, say).
   */
  async prepare(step: string): Promise<void> {
    const { background, far } = this.#layout();
    const unwritten = subtract(background, this.#backgroundWritten);
    const farUnwritten = subtract(far, this.#farWritten);
    await Promise.all([
      this.#fill(unwritten, this.#background),
      this.#fill(farUnwritten, FAR_FILL),
    ]);
    this.#backgroundWritten = normalize([...this.#backgroundWritten, ...unwritten]);
    this.#farWritten = normalize([...this.#farWritten, ...farUnwritten]);
    if (this.#current !== undefined) this.#earlier.unshift(this.#current);
    const digest = createHash('sha256').update(`${this.#steps++}:${step}`).digest();
    this.#current = new AddressPattern(digest.readUInt32LE(0));
    await this.#fill(this.#guards(), this.#current);
  }

  /** True once prepare() has filled watched memory. */
  get prepared(): boolean {
    return this.#current !== undefined;
  }

  /**
   * Every fill that names its addresses and that a byte of watched memory may hold or have
   * held: the salt zones' since the last prepare(), the background, then the salt zones' of
   * earlier steps, newest first. The far fill names none, so it is not among them.
   */
  get fills(): AddressPattern[] {
    return [this.#current!, this.#background, ...this.#earlier];
  }

  /** The fill watched memory holds at `address` since prepare(), if it is watched. */
  fillAt(address: number): Fill | undefined {
    if (contains(this.#excluded(), address)) return undefined;
    if (contains(this.#saltZones, address)) return this.#current;
    if (contains(this.#guardZones, address)) return this.#background;
    if (contains(this.#windowOption, address)) return FAR_FILL;
    return undefined;
  }

  /** The byte watched memory holds at `address` since prepare(), if it is watched. */
  expectedAt(address: number): number | undefined {
    return this.fillAt(address)?.byteAt(address);
  }

  /** Reads `spans` and calls `visit` for each byte that is not the fill's or not watched. */
  async scan(
    spans: readonly Span[],
    visit: (address: number, value: number) => void,
  ): Promise<void> {
    const memory = this.#memory;
    const pieces = this.#pieces(normalize([...spans]));
    const layout = this.#layout();
    await inWaves(pieces, async (p) => {
      const parts = this.#byPattern(p, layout);
      const only = parts.length === 1 ? parts[0]! : undefined;
      const text = memory.memreadBase64 && only?.pattern && this.#pieceText(p, only.pattern)?.text;
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

  /** Puts the fill back where a device changed watched memory. */
  async restore(addresses: readonly number[]): Promise<void> {
    const runs = runsOf([...addresses].sort((a, b) => a - b));
    const layout = this.#layout();
    await Promise.all(
      runs.flatMap((run) =>
        this.#byPattern(run, layout).flatMap((part) =>
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

  #excluded(): Span[] {
    return normalize(typeof this.#exclude === 'function' ? this.#exclude() : this.#exclude);
  }

  /** Salt zones without excluded memory. */
  #guards(): Span[] {
    return this.#layout().salt;
  }

  /**
   * Which fill each watched place holds, worked out again only when watch() added a zone or
   * the suite's own memory grew (a scan asks for every piece it reads).
   */
  #layout(): Layout {
    const excluded = this.#excluded();
    const cached = this.#cachedLayout;
    if (
      cached !== undefined &&
      cached.zones === this.#zonesChanged &&
      sameSpans(cached.excluded, excluded)
    )
      return cached;
    // Salt zones lie within guard zones (SALT_REACH ≤ the guard).
    this.#cachedLayout = {
      zones: this.#zonesChanged,
      excluded,
      salt: subtract(this.#saltZones, excluded),
      background: subtract(this.#guardZones, [...this.#saltZones, ...excluded]),
      far: subtract(this.#windowOption, [...this.#guardZones, ...excluded]),
      watched: subtract([...this.#windowOption, ...this.#guardZones], excluded),
    };
    return this.#cachedLayout;
  }

  /** Writes `fill` over `spans`: the far fill by memset where the memory has it, else in pipelined pieces. */
  async #fill(spans: readonly Span[], fill: Fill): Promise<void> {
    const memory = this.#memory;
    if (fill === FAR_FILL && memory.memset !== undefined) {
      await Promise.all(
        spans.map((s) => memory.memset!(BigInt(s.start), s.end - s.start, FAR_FILL.value)),
      );
      return;
    }
    const pieces = this.#pieces(spans);
    await inWaves(pieces, (p) => {
      const ascii = memory.memwriteBase64 && this.#pieceText(p, fill)?.ascii;
      return ascii === undefined
        ? memory.memwrite(BigInt(p.start), fill.bytes(p.start, p.end - p.start))
        : memory.memwriteBase64!(BigInt(p.start), p.end - p.start, ascii);
    });
  }

  /**
   * The cached base64 of `p` when it is a whole piece of the background or of the far fill;
   * undefined for any other piece.
   */
  #pieceText(p: Span, fill: Fill): BackgroundPiece | undefined {
    const whole = p.end - p.start === DEFAULT_PIECE && p.start % DEFAULT_PIECE === 0;
    if (this.#piece !== DEFAULT_PIECE || !whole) return undefined;
    if (fill === FAR_FILL) return (farText ??= encodedPiece(FAR_FILL.bytes(0, DEFAULT_PIECE)));
    if (fill !== BACKGROUND) return undefined;
    let piece = BACKGROUND_TEXT.get(p.start);
    if (piece === undefined) {
      piece = encodedPiece(BACKGROUND.bytes(p.start, DEFAULT_PIECE));
      if (BACKGROUND_TEXT.size < BACKGROUND_TEXT_PIECES) BACKGROUND_TEXT.set(p.start, piece);
    }
    return piece;
  }

  /** `span` cut where the fill changes (salt zone, background, far fill, unwatched). */
  #byPattern(span: Span, layout: Layout): Array<Span & { pattern: Fill | undefined }> {
    const cut = (spans: Span[], pattern: Fill | undefined) => spans.map((s) => ({ ...s, pattern }));
    return [
      ...cut(intersect([span], layout.salt), this.#current),
      ...cut(intersect([span], layout.background), this.#background),
      ...cut(intersect([span], layout.far), FAR_FILL),
      ...cut(subtract([span], layout.watched), undefined),
    ];
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
}

/** A whole piece's base64, as text and as ASCII bytes. */
interface BackgroundPiece {
  text: string;
  ascii: Uint8Array;
}

function encodedPiece(bytes: Uint8Array): BackgroundPiece {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
  return { text, ascii: Buffer.from(text, 'latin1') };
}

/** Watched memory by the fill it holds, without the suite's own memory. */
interface Layout {
  /** Salt zones: the step's own salt. */
  salt: Span[];
  /** The rest of the guard zones: the background. */
  background: Span[];
  /** The rest of the window: the far fill. */
  far: Span[];
  /** All three. */
  watched: Span[];
}

function sameSpans(a: readonly Span[], b: readonly Span[]): boolean {
  return a.length === b.length && a.every((s, i) => s.start === b[i]!.start && s.end === b[i]!.end);
}

/**
 * Runs `work` over `items` in waves of at most WAVE_PIECES, each wave back before the next
 * leaves: a wave's commands leave in one write. (A lane refilled as each reply comes would
 * send one piece per round trip, since big replies come in one socket read each.)
 */
async function inWaves<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let first = 0; first < items.length; first += WAVE_PIECES) {
    await Promise.all(items.slice(first, first + WAVE_PIECES).map(work));
  }
}
