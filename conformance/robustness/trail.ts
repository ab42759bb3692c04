// What a robustness probe sent and what came back, in order: the evidence of its finding.

import { statusName } from '../../dist/ts/index.js';
import type { RequestResult } from '../driver/iommu-driver.js';
import {
  encodeRequest,
  requestName,
  type FieldValues,
  type RequestVerb,
} from '../driver/requests.js';
import type { Session } from '../session.js';
import type { Place } from './place.js';

/** What came back for a request, naming the request by the type it really carried. */
export function answer(result: RequestResult): string {
  const name = requestName(result.request);
  return result.status === undefined
    ? `${name}: used length ${result.usedLen}, no status`
    : `${name}: ${statusName(result.status).replace(/^VIRTIO_IOMMU_/, '')}`;
}

/**
 * What a probe sent and what came back, in order. A request is written down before it goes
 * out, named by the type its bytes carry, so a crash or hang names the request that caused it.
 */
export class Trail {
  readonly #entries: string[] = [];
  /** The setup ATTACH of @ep got S_OK: isolation in the probe's domain can be judged. */
  attached = false;

  /** The probe's domain and IOVAs: inside domain_range and input_range where the device has them. */
  constructor(readonly place: Place) {}

  /** A typed request; `label` says what it is for (`inverted`, `covering`). */
  async request(
    session: Session,
    label: string,
    verb: RequestVerb,
    fields: FieldValues,
  ): Promise<RequestResult> {
    const { readable } = encodeRequest(verb, fields);
    const at = this.#sent(`${label} ${requestName(readable)}`);
    const result = await session.driver.request(verb, fields);
    this.#entries[at] = `${label} ${answer(result)}`;
    return result;
  }

  /** Raw request bytes with `room` bytes for the reply; `how` describes what is broken. */
  async bytes(session: Session, readable: Uint8Array, room: number, how: string): Promise<void> {
    const at = this.#sent(`${requestName(readable)} ${how}`);
    const result = await session.driver.requestBytes(readable, room);
    this.#entries[at] = `${answer(result)} ${how}`;
  }

  note(text: string): void {
    this.#entries.push(text);
  }

  toString(): string {
    return this.#entries.join('; ') || 'nothing sent';
  }

  #sent(what: string): number {
    return this.#entries.push(`${what} sent, no answer`) - 1;
  }
}
