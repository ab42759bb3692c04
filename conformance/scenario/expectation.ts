// What a failed or unrunnable scenario step carries: the evidence a report shows (request
// bytes, reply bytes, what the statement expected) or why the step could not be judged.

export interface Evidence {
  request?: string;
  reply?: string;
  expected?: string;
  message?: string;
}

/**
 * The device did something a statement does not allow: by default the statements the test is
 * tagged with, or `statement` (a MUST broken while a test of a SHOULD was setting up).
 */
export class ExpectationFailure extends Error {
  override name = 'ExpectationFailure';
  constructor(
    readonly evidence: Evidence & { message: string },
    readonly statement?: string,
  ) {
    super(evidence.message);
  }
}

/** The step cannot be judged on this device (a domain out of range, no fault to judge). */
export class UntestableStep extends Error {
  override name = 'UntestableStep';
}

/**
 * The suite itself cannot go on: something it needs is missing from the target's profile or
 * from the spec (a constant, a config field, an endpoint with a DMA engine). Its verdict is
 * `error`, never the device's.
 */
export class SuiteError extends Error {
  override name = 'SuiteError';
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The device is not one the scenario is about (a `needs` precondition it does not meet). */
export class InapplicableStep extends Error {
  override name = 'InapplicableStep';
}
