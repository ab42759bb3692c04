// Brings a TestDriver's virtio function to DRIVER_OK with queue 0 (size 16, rings at
// 0x100000) and queue 1 (size 8, rings at 0x110000) enabled.

import { CC, type TestDriver } from './driver.js';
import { TestQueue } from './virtqueue.js';

export const F_INDIRECT_DESC = 1 << 28;
export const F_EVENT_IDX = 1 << 29;
const MODEL_FEATURES = 0x7;
const VERSION_1_HIGH = 1;

export function readyDevice(
  d: TestDriver,
  ringFeatures = F_INDIRECT_DESC,
): { requests: TestQueue; events: TestQueue } {
  d.assignBars();
  const status = d.negotiate(MODEL_FEATURES | ringFeatures, VERSION_1_HIGH);
  if (status !== 0xb) throw new Error(`negotiation failed: status 0x${status.toString(16)}`);
  const requests = new TestQueue(d, 0, 16, 0x100000n);
  const events = new TestQueue(d, 1, 8, 0x110000n);
  requests.setUp();
  events.setUp();
  d.write(CC.device_status, 1, 0xf);
  return { requests, events };
}
