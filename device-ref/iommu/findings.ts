// Layer: iommu.
// Driver findings of the IOMMU core: the rules of the spec the device saw the driver break,
// each tagged with its statement ID and quoting the statement's text from dist/cases.json.
// A finding never changes what the device does; it is for the person who wrote the driver.

import type { Finding } from '../platform/findings.js';
import type { StatementCatalog } from './statements.js';

/** Every driver statement the device can observe being broken. */
export const OBSERVED_DRIVER_STATEMENTS = [
  'drv.features.accept',
  'drv.config.read-only',
  'drv.config.bypass-write',
  'drv.config.bypass-value',
  'drv.init.probe-before-attach',
  'drv.req.head-reserved',
  'drv.req.input-range',
  'drv.req.domain-range',
  'drv.attach.reserved',
  'drv.attach.bypass-flag-set',
  'drv.attach.bypass-flag-clear',
  'drv.detach.reserved',
  'drv.map.flags-undefined',
  'drv.map.bypass-domain',
  'drv.map.virt-end',
  'drv.map.mmio-feature',
  'drv.unmap.reserved',
  'drv.unmap.whole-mappings',
  'drv.unmap.first-address',
  'drv.unmap.last-address',
  'drv.unmap.bypass-domain',
  'drv.probe.buffer-size',
  'drv.probe.reserved',
  'drv.resv-mem.no-map',
] as const;

export type DriverStatement = (typeof OBSERVED_DRIVER_STATEMENTS)[number];

/** A finding of the IOMMU core: the platform's, with the statement the driver broke. */
export type IommuFinding = Finding;

export type FindingSink = (finding: IommuFinding) => void;

export class DriverFindings {
  readonly #catalog: StatementCatalog;
  readonly #sink: FindingSink;

  /** Throws when the catalog lacks one of OBSERVED_DRIVER_STATEMENTS or has it as a device statement. */
  constructor(catalog: StatementCatalog, sink: FindingSink) {
    for (const id of OBSERVED_DRIVER_STATEMENTS) {
      const statement = catalog.get(id);
      if (statement?.role !== 'driver') {
        throw new Error(
          `The IOMMU core reports findings as ${id}, which dist/cases.json does not define as a driver statement`,
        );
      }
    }
    this.#catalog = catalog;
    this.#sink = sink;
  }

  /** The driver broke `statement`; `message` says what it did and what the device made of it. */
  report(statement: DriverStatement, message: string, detail: Record<string, unknown> = {}): void {
    const rule = this.#catalog.get(statement)!;
    this.#sink({ statement, message, detail: { ...detail, rule: rule.text } });
  }

  /** Something the driver did wrong that no statement of the spec covers. */
  observe(message: string, detail: Record<string, unknown> = {}): void {
    this.#sink({ message, detail });
  }
}
