// One fresh device for one test: the target started, the IOMMU and its endpoints found, and
// the guest RAM the test owns (`@ram`, a staging page for edu's buffer, the queues).

import { IommuDriver } from './driver/iommu-driver.js';
import { GuestMemory, suiteRegion, type GuestRegion } from './memory/guest-memory.js';
import { RAM_ALIGN, RAM_SIZE } from './profile.js';
import type { QtestClient } from './qtest/client.js';
import type { Target } from './targets/target.js';

export interface Session {
  readonly target: Target;
  readonly qtest: QtestClient;
  readonly driver: IommuDriver;
  readonly memory: GuestMemory;
  /** `@ram`. */
  readonly ram: GuestRegion;
  /** A page edu's buffer is filled from and read into (identity-mapped where needed). */
  readonly staging: GuestRegion;
}

/** Starts the target and finds the device; on failure the target is closed again. */
export async function openSession(target: Target): Promise<Session> {
  const qtest = await target.start();
  try {
    const memory = new GuestMemory(suiteRegion(target.ramSize));
    const ram = memory.allocate(RAM_SIZE, RAM_ALIGN);
    const staging = memory.allocate(0x1000);
    const driver = await IommuDriver.open(qtest, memory);
    return { target, qtest, driver, memory, ram, staging };
  } catch (error) {
    await target.close();
    throw error;
  }
}

/**
 * The suite's own memory in `session`: everything allocated but `@ram` (the staging page, the
 * queues, buffers a test took). Devices write there while a DMA is judged, so it is never
 * watched.
 */
export function ownMemory(session: Session): GuestRegion[] {
  return session.memory.allocations.filter((region) => region !== session.ram);
}
