// The target profile: what the scenario symbols (`@ep`, `@ram`, `@page` …) stand for on one
// device, found on its bus and in its configuration (docs/spec-dialect.md, "Scenarios").
//
//   @ep           the first edu function (its requester ID): the endpoint with a DMA engine
//   @ep2          the second edu function. QEMU gets it from a second `-device edu` on its
//                 command line, device-ref from a second edu endpoint on its board.
//   @nonexistent  the requester ID of the first empty slot of bus 0, function 0
//   @ram          1 MiB of guest RAM the suite owns, aligned on 2 MiB
//   @page         the lowest bit set in page_size_mask
//   @input_range.start …, @domain_range.start …, @probe_size: the device configuration

import type { Config } from '../dist/ts/index.js';
import type { IommuDriver } from './driver/iommu-driver.js';
import type { GuestRegion } from './memory/guest-memory.js';

export const RAM_SIZE = 0x10_0000;
export const RAM_ALIGN = 0x20_0000;

export class UnknownSymbolError extends Error {
  override name = 'UnknownSymbolError';
}

export class TargetProfile {
  readonly #symbols: ReadonlyMap<string, bigint>;

  constructor(
    symbols: ReadonlyMap<string, bigint>,
    /** Why a symbol the target cannot provide is missing, by symbol name. */
    readonly missing: ReadonlyMap<string, string>,
  ) {
    this.#symbols = symbols;
  }

  /** The profile of a started device; `ram` is the region behind `@ram`. */
  static of(driver: IommuDriver, config: Config, ram: GuestRegion): TargetProfile {
    const symbols = new Map<string, bigint>();
    const missing = new Map<string, string>();
    const [ep, ep2] = driver.eduEndpoints;
    if (ep === undefined) missing.set('ep', 'the target has no edu endpoint (1234:11e8)');
    else symbols.set('ep', BigInt(ep));
    if (ep2 === undefined) missing.set('ep2', 'the target has no second edu endpoint');
    else symbols.set('ep2', BigInt(ep2));
    const used = new Set(driver.functions.map((fn) => fn.address.device));
    const free = Array.from({ length: 32 }, (_, slot) => slot).find((slot) => !used.has(slot));
    if (free === undefined) missing.set('nonexistent', 'every slot of bus 0 holds a function');
    else symbols.set('nonexistent', BigInt(free << 3));
    symbols.set('ram', ram.base);
    const mask = config.page_size_mask;
    if (mask === 0n) missing.set('page', 'page_size_mask is 0');
    else symbols.set('page', mask & -mask);
    symbols.set('input_range.start', config.input_range.start);
    symbols.set('input_range.end', config.input_range.end);
    symbols.set('domain_range.start', BigInt(config.domain_range.start));
    symbols.set('domain_range.end', BigInt(config.domain_range.end));
    symbols.set('probe_size', BigInt(config.probe_size));
    return new TargetProfile(symbols, missing);
  }

  /** The value of `@name`; an UnknownSymbolError says why the target has none. */
  resolve(name: string): bigint {
    const value = this.#symbols.get(name);
    if (value !== undefined) return value;
    throw new UnknownSymbolError(
      this.missing.get(name) ?? `the scenario symbol @${name} is not defined`,
    );
  }

  /** Every symbol and its value, for reports. */
  entries(): Array<[string, bigint]> {
    return [...this.#symbols];
  }
}

/** Where a scenario's literals of one kind go on a device (see placeLiterals). */
export type Placement = { shift: bigint; note?: string } | { untested: string };

/** A literal domain ID or IOVA of a scenario, with its line. */
export interface Literal {
  value: bigint;
  line: number;
}

/**
 * Where a scenario's literal domain IDs (`domain=1`) or IOVAs (`virt_start=0x1000`, `dma @ep
 * read 0x1000`) go on a device whose domain_range or input_range is `range` (undefined when
 * the device does not offer the feature: every value is valid). They stay as written when
 * they all lie in the range. Otherwise every one moves up by the range's start, rounded up to
 * a multiple of `align` (64 KiB for IOVAs, so that what is page-aligned stays so): on the
 * narrow board (domain_range 4..15, input_range 0x10000-0x7ffffff) `domain=1` is domain 5
 * and IOVA 0x1000 is 0x11000, as the hand tests' domainId(1) and iovaAt() place them. A
 * literal is only a name here (what the suite expects is written in physical terms, `@ram+…`),
 * so the move keeps the scenario's meaning as long as no value of that kind is named by a
 * symbol as well (`@domain_range.start`, `@input_range.end-0xfff`), whose relation to the
 * literals it would change. Untested when symbols and literals meet, or when the moved
 * values do not fit the range either.
 */
export function placeLiterals(
  kind: 'domain' | 'IOVA',
  literals: readonly Literal[],
  usesSymbol: boolean,
  range: { start: bigint; end: bigint } | undefined,
  align = 1n,
): Placement {
  if (range === undefined || literals.length === 0) return { shift: 0n };
  const { start, end } = range;
  const outside = literals.find(({ value }) => value < start || value > end);
  if (outside === undefined) return { shift: 0n };
  const show = (v: bigint): string => (kind === 'IOVA' ? `0x${v.toString(16)}` : `${v}`);
  const name = kind === 'IOVA' ? 'input_range' : 'domain_range';
  const where = `${kind} ${show(outside.value)} (line ${outside.line}) is outside ${name} ${show(start)}..${show(end)}`;
  if (usesSymbol) return { untested: `${where}, and the scenario names ${kind}s by symbols too` };
  const shift = ((start + align - 1n) / align) * align;
  const beyond = literals.find(({ value }) => value + shift > end);
  if (beyond !== undefined)
    return {
      untested: `${where}, and moved up by ${show(shift)} ${kind} ${show(beyond.value)} (line ${beyond.line}) would be too`,
    };
  return {
    shift,
    note: `${where}: the scenario's ${kind}s are moved up by ${show(shift)} into ${name}`,
  };
}
