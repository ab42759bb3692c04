// The isolation checks of the robustness probes: after a broken range, a covering MAP and
// UNMAP must leave nothing reachable; after every stimulus and a reset, the device must still
// answer and still isolate. An access that gets through where it must not is a breach.

import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
} from '../../dist/ts/index.js';
import type { EduDevice } from '../edu/edu.js';
import { patternFor } from '../scenario/pattern.js';
import type { Session } from '../session.js';
import { firstEndpoint, type Place } from './place.js';
import { answer, type Trail } from './trail.js';

/** Where the isolation check maps its page, from the start of input_range. */
const CHECK_OFFSET = 0x80_0000n;
/** edu reaches RAM-side addresses below this (a 28-bit DMA mask). */
export const EDU_REACH = 0x1000_0000n;
/** How many bytes each DMA of the checks moves. */
const DMA_LENGTH = 16;
/** Where in edu's buffer a probe's reads land: apart, so one read-back sees them all. */
const MAPPED_SLOT = 0;
const UNMAPPED_SLOT = 64;

export const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);

/** Thrown by a probe that saw the device let an access through that it must block. */
export class IsolationBreach extends Error {
  override name = 'IsolationBreach';
}

/**
 * Reads `DMA_LENGTH` bytes at `iova` through @ep into an unused part of edu's buffer and says
 * whether any byte of a `forbidden` pattern (what lies where the access must not reach)
 * arrived. A blocked read leaves that part as it was (zero) or zero-fills it; the patterns
 * have no zero byte, so a byte of one can only have come through.
 */
async function leaks(
  edu: EduDevice,
  session: Session,
  iova: bigint,
  forbidden: readonly Uint8Array[],
): Promise<boolean> {
  const staging = { iova: session.staging.base, phys: session.staging.base, size: 0x1000 };
  await edu.toDevice(iova, DMA_LENGTH, UNMAPPED_SLOT);
  const arrived = await edu.readBuffer(DMA_LENGTH, staging, UNMAPPED_SLOT);
  return forbidden.some((pattern) => arrived.some((byte, i) => byte === pattern[i]));
}

/**
 * Covers `[first, last]` with a MAP, then an UNMAP, then checks that a read at `first` reaches
 * nothing: whatever the broken request before them left behind, the covering UNMAP removed it.
 */
export async function coverAndCheck(
  session: Session,
  trail: Trail,
  fromOffset: bigint,
  toOffset: bigint,
): Promise<void> {
  const range = trail.place.range(fromOffset, toOffset);
  const first = range.virt_start;
  await trail.request(session, 'covering', 'map', {
    ...range,
    phys_start: session.ram.base,
    flags: RW,
  });
  await trail.request(session, 'covering', 'unmap', range);
  const edu = session.driver.edu;
  if (edu === undefined || !trail.attached || first + BigInt(DMA_LENGTH) > EDU_REACH)
    return trail.note('isolation in the domain not checked (@ep not attached, or out of reach)');
  // edu's buffer is reached through an identity mapping of the staging page, outside the range.
  const page = session.staging.base;
  const staging = await trail.request(session, 'staging', 'map', {
    domain: range.domain,
    virt_start: page,
    virt_end: page + 0xfffn,
    phys_start: page,
    flags: RW,
  });
  if (staging.status !== VIRTIO_IOMMU_S_OK)
    return trail.note("isolation in the domain not checked (no way to edu's buffer)");
  // What the covering MAP pointed at, and the identity address when it is low RAM.
  const mapped = patternFor(`cover:${first}`, DMA_LENGTH);
  const identity = patternFor(`cover-identity:${first}`, DMA_LENGTH);
  await session.qtest.memwrite(session.ram.base, mapped);
  const watched = [mapped];
  // Guest RAM below the suite's own holds nothing of the suite's.
  if (first + BigInt(DMA_LENGTH) <= session.memory.region.base) {
    await session.qtest.memwrite(first, identity);
    watched.push(identity);
  }
  if (await leaks(edu, session, first, watched)) {
    throw new IsolationBreach(
      `after ${trail}, a read at IOVA 0x${first.toString(16)} still reached memory`,
    );
  }
  trail.note(`a read at 0x${first.toString(16)} afterwards reached nothing`);
}

/**
 * After the stimulus: reset, a valid ATTACH must complete, and (with MAP and an edu endpoint)
 * a mapped page must be reachable while unmapped reads and writes reach nothing.
 */
export async function checkAfterwards(session: Session, place: Place): Promise<string> {
  const driver = session.driver;
  await driver.start();
  const endpoint = firstEndpoint(session);
  const attach = await driver.request('attach', { domain: place.domain, endpoint });
  const attached = `after a reset a valid ${answer(attach)}`;
  const edu = driver.edu;
  const checkIova = place.iova(CHECK_OFFSET);
  if (
    attach.status !== VIRTIO_IOMMU_S_OK ||
    edu === undefined ||
    !driver.has(VIRTIO_IOMMU_F_MAP_UNMAP) ||
    checkIova + 0x1000n > EDU_REACH
  )
    return `${attached}; isolation not checked (needs S_OK, F_MAP_UNMAP, an edu endpoint and input_range within its reach)`;
  const { ram, staging, qtest } = session;
  for (const [iova, phys] of [
    [staging.base, staging.base],
    [checkIova, ram.base],
  ] as const) {
    const map = await driver.request('map', {
      domain: place.domain,
      virt_start: iova,
      virt_end: iova + 0xfffn,
      phys_start: phys,
      flags: RW,
    });
    if (map.status !== VIRTIO_IOMMU_S_OK)
      return `${attached}; isolation not checked: ${answer(map)} for 0x${iova.toString(16)}`;
  }
  // Four transfers: a read of the mapped page and one of an unmapped IOVA (whose identity
  // address holds suite RAM) into two parts of edu's buffer, one read-back of both, and a
  // write of what arrived to another unmapped IOVA.
  const page = { iova: staging.base, phys: staging.base, size: 0x1000 };
  const mapped = patternFor('check:mapped', DMA_LENGTH);
  const unmapped = ram.base + 0x1000n;
  const forbidden = patternFor('check:unmapped', DMA_LENGTH);
  const target = ram.base + 0x2000n;
  await Promise.all([
    qtest.memwrite(ram.base, mapped),
    qtest.memwrite(unmapped, forbidden),
    qtest.memset(target, DMA_LENGTH, 0),
  ]);
  await edu.toDevice(checkIova, DMA_LENGTH, MAPPED_SLOT);
  await edu.toDevice(unmapped, DMA_LENGTH, UNMAPPED_SLOT);
  const buffer = await edu.readBuffer(UNMAPPED_SLOT + DMA_LENGTH, page);
  const arrived = buffer.subarray(MAPPED_SLOT, MAPPED_SLOT + DMA_LENGTH);
  if (!Buffer.from(arrived).equals(mapped)) {
    throw new Error(
      `${attached}, but a read of a mapped page brought ${Buffer.from(arrived).toString('hex')}, not its bytes`,
    );
  }
  const leaked = buffer.subarray(UNMAPPED_SLOT, UNMAPPED_SLOT + DMA_LENGTH);
  if (leaked.some((byte, i) => byte === forbidden[i]))
    throw new IsolationBreach(
      `${attached}; a read at unmapped IOVA 0x${unmapped.toString(16)} reached memory (edu's buffer got ${Buffer.from(leaked).toString('hex')})`,
    );
  await edu.fromDevice(target, DMA_LENGTH, MAPPED_SLOT);
  const written = await qtest.memread(target, DMA_LENGTH);
  if (written.some((byte) => byte !== 0))
    throw new IsolationBreach(
      `${attached}; a write at unmapped IOVA 0x${target.toString(16)} reached memory`,
    );
  return `${attached}; a mapped page is reachable, unmapped reads and writes reach nothing`;
}
