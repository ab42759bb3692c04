// Layer: platform.
// Driver findings: rules of the spec that the device saw the driver break ("descriptor
// address 0x… outside RAM"). The device keeps working; the finding is for the person who
// wrote the driver. The IOMMU core tags its findings with the spec statement ID.

export interface Finding {
  /** The spec statement the driver broke, e.g. `drv.attach.reserved`, when there is one. */
  readonly statement?: string;
  readonly message: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Entries kept per board; a driver flooding the device with bad requests cannot exhaust memory. */
export const MAX_KEPT_FINDINGS = 10_000;

export class FindingLog {
  readonly #entries: Finding[] = [];
  readonly #listeners = new Set<(finding: Finding) => void>();
  #dropped = 0;

  /** The findings so far, oldest first (at most MAX_KEPT_FINDINGS; see `dropped`). */
  get entries(): readonly Finding[] {
    return this.#entries;
  }

  /** How many findings arrived after the log was full; listeners saw them all. */
  get dropped(): number {
    return this.#dropped;
  }

  add(finding: Finding): void {
    if (this.#entries.length < MAX_KEPT_FINDINGS) this.#entries.push(finding);
    else this.#dropped++;
    for (const listener of this.#listeners) listener(finding);
  }

  /** Calls `listener` for every later finding; returns the unsubscribe function. */
  onFinding(listener: (finding: Finding) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
