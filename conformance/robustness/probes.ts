// Robustness probes, reported apart from conformance: stimuli that break a driver rule. The
// spec puts no duty on the device there, but it must not crash or hang: after each stimulus
// the suite resets the device and a valid ATTACH must still complete. Each probe runs on a
// fresh device with a time limit.

import { performance } from 'node:perf_hooks';
import { statusName } from '../../dist/ts/index.js';
import { encodeRequest } from '../driver/requests.js';
import { QtestClosedError, QtestTimeoutError } from '../qtest/errors.js';
import type { RobustnessFinding } from '../report/types.js';
import { openSession, type Session } from '../session.js';
import { withTimeLimit } from '../suite/harness.js';
import type { Target } from '../targets/target.js';

/** @ep: the first edu endpoint (0 on a target without one: the stimulus is then about nothing). */
function firstEndpoint(session: Session): bigint {
  return BigInt(session.driver.eduEndpoints[0] ?? 0);
}

interface Probe {
  name: string;
  /** The stimulus; it may fail (the device may refuse it) without being a finding. */
  stimulus(session: Session): Promise<void>;
}

const PROBES: Probe[] = [
  {
    // An ATTACH whose device-writable part is 2 bytes: too short for the tail.
    name: 'short-tail',
    async stimulus(session) {
      const { readable } = encodeRequest('attach', {
        domain: 1n,
        endpoint: firstEndpoint(session),
      });
      await session.driver.requestBytes(readable, 2);
    },
  },
  {
    // A MAP whose virt_end lies below virt_start.
    name: 'inverted-range',
    async stimulus(session) {
      await session.driver.request('attach', {
        domain: 1n,
        endpoint: firstEndpoint(session),
      });
      await session.driver.request('map', {
        domain: 1n,
        virt_start: 0x2000n,
        virt_end: 0x1000n,
        phys_start: session.ram.base,
        flags: 3n,
      });
    },
  },
  {
    // 24 ATTACH/DETACH requests in flight at once (48 of the queue's 64 descriptors).
    name: 'request-flood',
    async stimulus(session) {
      const endpoint = firstEndpoint(session);
      await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          session.driver.request(i % 2 === 0 ? 'attach' : 'detach', {
            domain: BigInt(1 + (i % 4)),
            endpoint,
          }),
        ),
      );
    },
  },
];

export const PROBE_TIMEOUT_MS = 10_000;

async function runProbe(probe: Probe, makeTarget: () => Target): Promise<RobustnessFinding> {
  const began = performance.now();
  const target = makeTarget();
  const finding = (outcome: RobustnessFinding['outcome'], message?: string): RobustnessFinding => ({
    probe: probe.name,
    outcome,
    durationMs: Math.round(performance.now() - began),
    ...(message !== undefined && { message }),
  });
  const work = (async (): Promise<RobustnessFinding> => {
    const session = await openSession(target);
    await session.driver.start();
    let stimulus = 'accepted';
    try {
      await probe.stimulus(session);
    } catch (error) {
      if (error instanceof QtestTimeoutError) throw error;
      if (error instanceof QtestClosedError) return finding('crash', error.message);
      stimulus = `refused (${(error as Error).message})`;
    }
    await session.driver.start();
    const check = await session.driver.request('attach', {
      domain: 7n,
      endpoint: firstEndpoint(session),
    });
    const status =
      check.status === undefined
        ? `no status (used length ${check.usedLen})`
        : statusName(check.status).replace(/^VIRTIO_IOMMU_/, '');
    return finding('ok', `stimulus ${stimulus}; after a reset a valid ATTACH got ${status}`);
  })();
  try {
    return await withTimeLimit(work, PROBE_TIMEOUT_MS, `no answer within ${PROBE_TIMEOUT_MS} ms`);
  } catch (error) {
    const outcome = error instanceof QtestClosedError ? 'crash' : 'hang';
    return finding(outcome, (error as Error).message);
  } finally {
    await target.close().catch(() => undefined);
  }
}

export async function runRobustnessProbes(makeTarget: () => Target): Promise<RobustnessFinding[]> {
  const findings: RobustnessFinding[] = [];
  for (const probe of PROBES) findings.push(await runProbe(probe, makeTarget));
  return findings;
}
