// Where a robustness probe acts: a domain inside domain_range and IOVAs from the start of
// input_range (where the device has them), and @ep, the endpoint its requests name.

import { VIRTIO_IOMMU_F_DOMAIN_RANGE, VIRTIO_IOMMU_F_INPUT_RANGE } from '../../dist/ts/index.js';
import type { Session } from '../session.js';

/** A domain inside domain_range and IOVAs from the start of input_range. */
export interface Place {
  domain: bigint;
  iova(offset: bigint): bigint;
  /** The domain and IOVAs `fromOffset`..`toOffset`: an UNMAP's fields, a MAP's but two. */
  range(
    fromOffset: bigint,
    toOffset: bigint,
  ): { domain: bigint; virt_start: bigint; virt_end: bigint };
}

export async function placeOf(session: Session): Promise<Place> {
  const config = await session.driver.readConfig();
  const driver = session.driver;
  const domain = driver.has(VIRTIO_IOMMU_F_DOMAIN_RANGE)
    ? BigInt(Math.min(config.domain_range.start + 1, config.domain_range.end))
    : 1n;
  const base = driver.has(VIRTIO_IOMMU_F_INPUT_RANGE) ? config.input_range.start : 0n;
  const iova = (offset: bigint): bigint => base + offset;
  return {
    domain,
    iova,
    range: (fromOffset, toOffset) => ({
      domain,
      virt_start: iova(fromOffset),
      virt_end: iova(toOffset),
    }),
  };
}

/** @ep: the first edu endpoint (0 on a target without one: the stimulus is then about nothing). */
export function firstEndpoint(session: Session): bigint {
  return BigInt(session.driver.eduEndpoints[0] ?? 0);
}
