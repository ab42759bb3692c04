// Layer: board.
// Board descriptions: JSON files checked against schemas/board.schema.json, then against the
// rules a schema cannot say (distinct slots, ranges that do not run backwards). 64-bit values
// are hex strings in JSON and bigints here; names keep the spec's spelling (page_size_mask).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureName } from '../../dist/ts/index.js';
import { findPackageRoot } from '../package-root.js';
import type { DraftName } from '../iommu/drafts/drafts.js';
import { EDU_DEFAULT_DMA_MASK } from './edu.js';
import { validate } from '../../dist/ts/validators/board.js';

export interface ReservedRegion {
  readonly subtype: 'RESERVED' | 'MSI';
  readonly start: bigint;
  readonly end: bigint;
}

/** The virtio-iommu function and the initial values of its device configuration. */
export interface IommuDescription {
  readonly slot: number;
  readonly features: readonly FeatureName[];
  readonly page_size_mask: bigint;
  readonly input_range: { readonly start: bigint; readonly end: bigint };
  readonly domain_range: { readonly start: number; readonly end: number };
  readonly probe_size: number;
  readonly bypass: boolean;
  /** Draft extensions the device offers and implements (device-ref/iommu/drafts/). */
  readonly drafts?: readonly DraftName[];
}

export interface EndpointDescription {
  readonly slot: number;
  readonly kind: 'edu';
  /** The endpoint ID: the PCI requester ID, slot << 3 on bus 0. */
  readonly endpoint: number;
  readonly dma_mask: bigint;
  readonly reserved_regions: readonly ReservedRegion[];
}

export interface BoardDescription {
  readonly name: string;
  readonly description?: string;
  /** "q35": QEMU's host bridge at 00:00.0 and the reset control register at port 0xcf9. */
  readonly chipset?: 'q35';
  readonly ram_size: number;
  readonly iommu: IommuDescription;
  readonly endpoints: readonly EndpointDescription[];
}

/** The boards under device-ref/boards/, by name. */
export const BOARD_PRESETS = [
  'q35',
  'arm64-virt',
  'narrow',
  'byte-granular',
  'multi-resv',
] as const;

export class BoardDescriptionError extends Error {
  constructor(
    source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: invalid board description:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'BoardDescriptionError';
  }
}

interface RangeJson {
  start: string;
  end: string;
}

interface BoardJson {
  name: string;
  description?: string;
  chipset?: 'q35';
  ram_size: number;
  iommu: Omit<IommuDescription, 'page_size_mask' | 'input_range'> & {
    page_size_mask: string;
    input_range: RangeJson;
  };
  endpoints: {
    slot: number;
    kind: 'edu';
    dma_mask?: string;
    reserved_regions: (RangeJson & { subtype: ReservedRegion['subtype'] })[];
  }[];
}

const packageRoot = findPackageRoot();
/** Checks parsed JSON and resolves it; `source` names it in errors (a file name). */
export function parseBoardDescription(json: unknown, source: string): BoardDescription {
  if (!validate(json)) {
    const problems = (validate.errors ?? []).map(
      (e) =>
        `${e.instancePath === '' ? '(top level)' : e.instancePath} ${e.message ?? 'is invalid'}`,
    );
    throw new BoardDescriptionError(source, problems);
  }
  const board = json as BoardJson;
  const problems: string[] = [];
  const slots = new Map<number, string>();
  if (board.chipset === 'q35') slots.set(0, '/chipset (the q35 host bridge)');
  const claim = (slot: number, path: string) => {
    const other = slots.get(slot);
    if (other !== undefined) problems.push(`${path} ${slot} is already used by ${other}`);
    slots.set(slot, path);
  };
  claim(board.iommu.slot, '/iommu/slot');
  board.endpoints.forEach((endpoint, i) => claim(endpoint.slot, `/endpoints/${i}/slot`));
  const checkRange = (path: string, start: bigint, end: bigint) => {
    if (start > end) problems.push(`${path} starts after it ends`);
  };
  const { iommu } = board;
  const inputRange = { start: BigInt(iommu.input_range.start), end: BigInt(iommu.input_range.end) };
  checkRange('/iommu/input_range', inputRange.start, inputRange.end);
  checkRange(
    '/iommu/domain_range',
    BigInt(iommu.domain_range.start),
    BigInt(iommu.domain_range.end),
  );
  const pageSizeMask = BigInt(iommu.page_size_mask);
  if (pageSizeMask === 0n) problems.push('/iommu/page_size_mask must offer at least one page size');
  const endpoints = board.endpoints.map((endpoint, i) => {
    const regions = endpoint.reserved_regions.map((region, j) => {
      const resolved = {
        subtype: region.subtype,
        start: BigInt(region.start),
        end: BigInt(region.end),
      };
      checkRange(`/endpoints/${i}/reserved_regions/${j}`, resolved.start, resolved.end);
      return resolved;
    });
    checkReservedRegions(`/endpoints/${i}/reserved_regions`, regions, problems);
    return {
      slot: endpoint.slot,
      kind: endpoint.kind,
      endpoint: endpoint.slot << 3,
      dma_mask: endpoint.dma_mask === undefined ? EDU_DEFAULT_DMA_MASK : BigInt(endpoint.dma_mask),
      reserved_regions: regions,
    };
  });
  if (problems.length > 0) throw new BoardDescriptionError(source, problems);
  return {
    name: board.name,
    ...(board.description !== undefined && { description: board.description }),
    ...(board.chipset !== undefined && { chipset: board.chipset }),
    ram_size: board.ram_size,
    iommu: { ...iommu, page_size_mask: pageSizeMask, input_range: inputRange },
    endpoints,
  };
}

/**
 * What the device presents of an endpoint's regions: one MSI region at most
 * (dev.resv-mem.single-msi) and no two that overlap (dev.resv-mem.no-overlap).
 */
function checkReservedRegions(
  path: string,
  regions: readonly ReservedRegion[],
  problems: string[],
): void {
  const msi = regions.flatMap((region, j) => (region.subtype === 'MSI' ? [j] : []));
  if (msi.length > 1) {
    problems.push(
      `${path} has ${msi.length} MSI regions (${msi.map((j) => `/${j}`).join(', ')}); a device presents one at most (dev.resv-mem.single-msi)`,
    );
  }
  regions.forEach((a, j) => {
    regions.slice(j + 1).forEach((b, k) => {
      if (a.start <= b.end && b.start <= a.end && a.start <= a.end && b.start <= b.end) {
        problems.push(
          `${path}/${j} and ${path}/${j + 1 + k} overlap; a device presents disjoint regions (dev.resv-mem.no-overlap)`,
        );
      }
    });
  });
}

/** A preset name (BOARD_PRESETS) or the path of a board JSON file. */
export function loadBoardDescription(nameOrFile: string): BoardDescription {
  const preset = (BOARD_PRESETS as readonly string[]).includes(nameOrFile);
  const file = preset
    ? join(packageRoot, 'device-ref', 'boards', `${nameOrFile}.json`)
    : nameOrFile;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BoardDescriptionError(nameOrFile, [(error as Error).message]);
  }
  return parseBoardDescription(json, nameOrFile);
}
