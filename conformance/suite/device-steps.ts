// Steps the hand-written tests share: start the device, insist on a feature, check a status,
// provoke a fault. Failures carry the request and reply bytes.

import {
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
  statusName,
  type Config,
  type Fault,
} from '../../dist/ts/index.js';
import type { EduDevice, StagingPage } from '../edu/edu.js';
import type { EventBuffers, FeatureChoice, RequestResult } from '../driver/iommu-driver.js';
import { requestName, type FieldValues, type RequestVerb } from '../driver/requests.js';
import { ExpectationFailure, SuiteError, toHex } from '../scenario/expectation.js';
import { patternFor } from '../scenario/pattern.js';
import { TargetProfile, UnknownSymbolError } from '../profile.js';
import { FAULT_WAIT_MS } from '../scenario/dma-step.js';
import type { Session } from '../session.js';
import { featureBit } from '../virtio/constants.js';
import { NotApplicable, Untested } from './harness.js';

/** `@nonexistent`: an endpoint ID the target has no endpoint for; untested where it has none. */
export async function nonexistentEndpoint(session: Session): Promise<bigint> {
  const profile = TargetProfile.of(session.driver, await session.driver.readConfig(), session.ram);
  try {
    return profile.resolve('nonexistent');
  } catch (error) {
    if (error instanceof UnknownSymbolError) throw new Untested(error.message);
    throw error;
  }
}

/** Starts the device with every offered feature the driver knows; returns its config. */
export async function startDevice(
  session: Session,
  choice: FeatureChoice = {},
  events?: EventBuffers,
): Promise<Config> {
  await session.driver.start(choice, events);
  return session.driver.readConfig();
}

/** Not applicable unless the device offers feature `bit` (named `name`). */
export function needFeature(session: Session, bit: number, name: string): void {
  if ((session.driver.offered & featureBit(bit)) === 0n)
    throw new NotApplicable(`needs ${name}: not offered`);
}

export function needEdu(session: Session): EduDevice {
  const edu = session.driver.edu;
  if (edu === undefined) throw new SuiteError('the target has no edu endpoint to issue DMA');
  return edu;
}

/** Sends a request and fails unless its status is one of `allowed`. */
export async function expectStatus(
  session: Session,
  verb: RequestVerb,
  fields: FieldValues,
  allowed: number[],
): Promise<RequestResult> {
  const result = await session.driver.request(verb, fields);
  if (result.status === undefined || !allowed.includes(result.status)) {
    const got =
      result.status === undefined ? `used length ${result.usedLen}` : statusName(result.status);
    throw new ExpectationFailure({
      request: toHex(result.request),
      reply: toHex(result.reply),
      expected: `status ${allowed.map(statusName).join('|')}`,
      message: `${requestName(result.request)} returned ${got}`,
    });
  }
  return result;
}

/**
 * The k-th domain ID of the started device: domain_range.start + k with F_DOMAIN_RANGE (k
 * alone without it), so that tests run on devices with narrow limits too. Untested when
 * domain_range has too few domains.
 */
export async function domainId(session: Session, k = 1): Promise<bigint> {
  if (!session.driver.has(VIRTIO_IOMMU_F_DOMAIN_RANGE)) return BigInt(k);
  const { domain_range } = await session.driver.readConfig();
  const id = domain_range.start + k;
  if (id > domain_range.end)
    throw new Untested(
      `domain_range ${domain_range.start}..${domain_range.end} has too few domains`,
    );
  return BigInt(id);
}

/**
 * An IOVA `offset` bytes into input_range (from 0 without F_INPUT_RANGE), with a page after
 * it inside the range too; untested when input_range is smaller.
 */
export function iovaAt(session: Session, config: Config, offset: bigint): bigint {
  const { start, end } = session.driver.has(VIRTIO_IOMMU_F_INPUT_RANGE)
    ? config.input_range
    : { start: 0n, end: 0xffff_ffff_ffff_ffffn };
  const iova = start + offset;
  if (iova + 0xfffn > end)
    throw new Untested(`input_range 0x${start.toString(16)}-0x${end.toString(16)} is too small`);
  return iova;
}

/** ATTACH of `endpoint` to `domain` (default: domainId 1), which the test needs to succeed: anything but S_OK fails it. */
export async function attachEndpoint(
  session: Session,
  endpoint: number,
  domain?: bigint,
): Promise<void> {
  domain ??= await domainId(session);
  await expectStatus(session, 'attach', { domain, endpoint: BigInt(endpoint) }, [
    VIRTIO_IOMMU_S_OK,
  ]);
}

/**
 * The start of every test that maps: needs F_MAP_UNMAP and edu, starts the device and
 * attaches @ep to `domain` (domainId 1). `iova(offset)` is iovaAt() for this device.
 */
export async function startWithEndpointAttached(
  session: Session,
  events?: EventBuffers,
): Promise<{ edu: EduDevice; config: Config; domain: bigint; iova: (offset: bigint) => bigint }> {
  needFeature(session, VIRTIO_IOMMU_F_MAP_UNMAP, 'F_MAP_UNMAP');
  const edu = needEdu(session);
  const config = await startDevice(session, {}, events);
  const domain = await domainId(session);
  await attachEndpoint(session, edu.endpointId, domain);
  return { edu, config, domain, iova: (offset) => iovaAt(session, config, offset) };
}

/** A fault report: @ep attached to an empty domain reads 4 bytes at IOVA 0x1000 (into input_range). */
export async function provokeMappingFault(
  session: Session,
): Promise<{ iova: bigint; faults: Fault[] }> {
  const { edu, iova: at } = await startWithEndpointAttached(session);
  const iova = at(0x1000n);
  await edu.toDevice(iova, 4);
  return { iova, faults: await reportedFaults(session) };
}

/** The fault reports that arrive within FAULT_WAIT_MS; untested if none does. */
export async function reportedFaults(session: Session): Promise<Fault[]> {
  const events = await session.driver.waitEvents(1, FAULT_WAIT_MS);
  const faults = events.flatMap((e) => (e.fault === undefined ? [] : [e.fault]));
  if (faults.length === 0) {
    throw new Untested(
      `the device reported no fault within ${FAULT_WAIT_MS} ms (reporting faults is optional)`,
    );
  }
  return faults;
}

export function fail(
  expected: string,
  message: string,
  bytes?: { request?: Uint8Array; reply?: Uint8Array },
): never {
  throw new ExpectationFailure({
    expected,
    message,
    ...(bytes?.request && { request: toHex(bytes.request) }),
    ...(bytes?.reply && { reply: toHex(bytes.reply) }),
  });
}

/** MAPs `size` bytes (a 4 KiB page by default) at `iova` to `phys` in `domain`: S_OK or a failure. */
export async function mapRange(
  session: Session,
  domain: bigint,
  iova: bigint,
  phys: bigint,
  flags: number,
  size = 0x1000n,
): Promise<void> {
  await expectStatus(
    session,
    'map',
    {
      domain,
      virt_start: iova,
      virt_end: iova + size - 1n,
      phys_start: phys,
      flags: BigInt(flags),
    },
    [VIRTIO_IOMMU_S_OK],
  );
}

/**
 * Maps the staging page identity (read-write) in `domain`, so edu's buffer can be filled and
 * read back while @ep is attached there. Returns the staging page for edu's transfers.
 */
export async function mapStaging(session: Session, domain: bigint): Promise<StagingPage> {
  const { base, size } = session.staging;
  const rw = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
  await mapRange(session, domain, base, base, rw, BigInt(size));
  return { iova: base, phys: base, size };
}

/**
 * @ep reads `length` bytes at `iova` while `phys` holds a pattern: whether the pattern
 * arrived (`reached`), nothing of it did (`blocked`), or other bytes did (`elsewhere`).
 */
export async function readReaches(
  session: Session,
  edu: EduDevice,
  staging: StagingPage,
  iova: bigint,
  phys: bigint,
  length = 16,
): Promise<{ result: 'reached' | 'blocked' | 'elsewhere'; seen: string }> {
  const pattern = patternFor(`read:${iova}:${phys}`, length);
  const before = new Uint8Array(length);
  await session.qtest.memwrite(phys, pattern);
  await edu.loadBuffer(before, staging);
  const arrived = await edu.dmaRead(iova, length, staging);
  const seen = `edu's buffer got ${toHex(arrived)}`;
  if (Buffer.from(arrived).equals(pattern)) return { result: 'reached', seen };
  if (arrived.every((byte) => byte === 0)) return { result: 'blocked', seen };
  return { result: 'elsewhere', seen };
}
