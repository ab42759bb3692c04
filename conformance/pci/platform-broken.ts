// The error of a platform self-check: the board under the device (PCI mechanism, chipset,
// edu, qtest) is not what the suite relies on, so it refuses to judge the device on it. A
// suite error (`error` verdict, never a device `fail`); the mutation runner counts it as a
// detection by its message's beginning.

import { SuiteError } from '../scenario/expectation.js';

/** How a failed platform check's error begins (the mutation runner counts it as a detection). */
export const PLATFORM_BROKEN = "the target's platform is not what the suite relies on";

export class PlatformBrokenError extends SuiteError {
  override name = 'PlatformBrokenError';

  constructor(what: string) {
    super(`${PLATFORM_BROKEN}: ${what}`);
  }
}
