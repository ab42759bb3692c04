// Robustness probes, reported apart from conformance: stimuli that break a driver rule, for
// every request type (stimuli.ts). The spec puts no duty on the device there, but guest input
// must never crash it, hang it or open a hole in isolation: each of those is a finding, a
// guest-triggerable denial of service (or worse), and fails the run.
//
// Each probe runs on a fresh device with a time limit. After the stimulus the device is reset
// and must still answer (a valid ATTACH completes) and still isolate: in a domain that maps
// one page, a DMA to that page arrives, and reads and writes at addresses it does not map
// reach nothing (isolation-checks.ts).

import { performance } from 'node:perf_hooks';
import { VIRTIO_IOMMU_F_MAP_UNMAP, VIRTIO_IOMMU_F_PROBE } from '../../dist/ts/index.js';
import { QtestClosedError, QtestReplyError, QtestTimeoutError } from '../qtest/errors.js';
import type { RobustnessProbe as RobustnessFinding } from '../../dist/ts/schemas/conformance-report.js';
import { openSession } from '../session.js';
import {
  errorText,
  isSuiteError,
  TimeLimitError,
  withTimeLimit,
  type RunControl,
} from '../suite/harness.js';
import { TargetUnreachableError, type Target } from '../targets/target.js';
import { checkAfterwards, IsolationBreach } from './isolation-checks.js';
import { LARGE_REQUEST_PROBES } from './large-request-stimuli.js';
import { placeOf } from './place.js';
import { RING_PROBES } from './ring-stimuli.js';
import { PROBES as REQUEST_PROBES, type Probe } from './stimuli.js';
import { Trail } from './trail.js';

const PROBE_TIMEOUT_MS = 10_000;
const PROBES: readonly Probe[] = [...REQUEST_PROBES, ...RING_PROBES, ...LARGE_REQUEST_PROBES];

async function runProbe(
  probe: Probe,
  makeTarget: () => Target,
  control: RunControl | undefined,
): Promise<RobustnessFinding> {
  const began = performance.now();
  const finding = (outcome: RobustnessFinding['outcome'], message: string): RobustnessFinding => ({
    probe: probe.name,
    outcome,
    durationMs: Math.round(performance.now() - began),
    message,
  });
  const stopped = control?.stopped;
  if (stopped !== undefined) return finding('error', `not run: ${stopped}`);
  const timeLimitMs = Math.min(PROBE_TIMEOUT_MS, control?.remainingMs() ?? PROBE_TIMEOUT_MS);
  const target = makeTarget();
  let trail: Trail | undefined;
  let step = 'the stimulus';
  const work = (async (): Promise<RobustnessFinding> => {
    const session = await openSession(target);
    control?.reached(true);
    await session.driver.start();
    const place = await placeOf(session);
    trail = new Trail(place);
    const lacking =
      probe.needs === 'map-unmap' && !session.driver.has(VIRTIO_IOMMU_F_MAP_UNMAP)
        ? 'F_MAP_UNMAP'
        : probe.needs === 'probe' && !session.driver.has(VIRTIO_IOMMU_F_PROBE)
          ? 'F_PROBE'
          : undefined;
    if (lacking !== undefined) trail.note(`not sent: the device does not offer ${lacking}`);
    else {
      try {
        await probe.stimulus(session, trail);
      } catch (error) {
        if (!(error instanceof Error) || isSuiteError(error) || isDeviceGone(error)) throw error;
        if (error instanceof IsolationBreach || isFailedGuestAccess(error)) throw error;
        // The device may refuse broken input any way it likes, short of crashing or hanging.
        trail.note(`refused: ${error.message}`);
      }
    }
    step = 'the check afterwards';
    return finding('ok', `${trail}; ${await checkAfterwards(session, place)}`);
  })();
  try {
    return await withTimeLimit(work, timeLimitMs, `no answer within ${timeLimitMs} ms`);
  } catch (error) {
    if (error instanceof TargetUnreachableError) {
      control?.reached(false, error.message);
      return finding('error', `not run: ${error.message}`);
    }
    if (error instanceof IsolationBreach) return finding('isolation-breach', error.message);
    if (error instanceof TimeLimitError && timeLimitMs < PROBE_TIMEOUT_MS)
      return finding('error', `stopped by the run's time limit: ${error.message}`);
    if (isSuiteError(error)) return finding('error', errorText(error));
    const message = `during ${step} (${trail ?? 'nothing sent'}): ${(error as Error).message}`;
    if (error instanceof QtestClosedError) return finding('crash', message);
    if (isDeviceGone(error)) return finding('hang', message);
    if (isFailedGuestAccess(error)) return finding('broken', message);
    // It still answers qtest, but no longer works: a valid request or its setup fails.
    if (step === 'the check afterwards') return finding('broken', message);
    return finding('error', `the probe could not start: ${(error as Error).message}`);
  } finally {
    await target.close().catch(() => undefined);
  }
}

/**
 * A guest load or store that the machine answered with FAIL. A guest cannot be refused an
 * access: QEMU's qtest answers OK to every read and write, backed or not, so a device that
 * fails one while handling it (an exception in its model) broke on the guest's input.
 */
function isFailedGuestAccess(error: unknown): boolean {
  return (
    error instanceof QtestReplyError &&
    /^((read|write)[bwlq]?|in[bwl]|out[bwl]|b64(read|write)|memset) /.test(error.command)
  );
}

/** The device crashed (the connection closed) or hung (no reply, a time limit). */
function isDeviceGone(error: unknown): boolean {
  return (
    error instanceof QtestClosedError ||
    error instanceof QtestTimeoutError ||
    error instanceof TimeLimitError
  );
}

/** Every probe, `lanes` at a time (each on its own target); findings in the probes' order. */
export async function runRobustnessProbes(
  makeTarget: () => Target,
  control?: RunControl,
  lanes = 1,
): Promise<RobustnessFinding[]> {
  const findings: RobustnessFinding[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < PROBES.length; i = next++) {
      findings[i] = await runProbe(PROBES[i]!, makeTarget, control);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, PROBES.length) }, lane));
  return findings;
}
