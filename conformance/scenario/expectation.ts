// What a failed or unrunnable scenario step carries: the evidence a report shows (request
// bytes, reply bytes, what the statement expected) or why the step could not be judged.

export interface Evidence {
  request?: string;
  reply?: string;
  expected?: string;
  message?: string;
}

/** The device did something the statement does not allow. */
export class ExpectationFailure extends Error {
  override name = 'ExpectationFailure';
  constructor(readonly evidence: Evidence & { message: string }) {
    super(evidence.message);
  }
}

/** The step cannot be judged on this target (a symbol it lacks, a domain out of range). */
export class UntestableStep extends Error {
  override name = 'UntestableStep';
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The device is not one the scenario is about (a `needs` precondition it does not meet). */
export class InapplicableStep extends Error {
  override name = 'InapplicableStep';
}
