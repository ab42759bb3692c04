// Getting bytes into and out of edu's buffer while the IOMMU is in whatever state a scenario
// left it. edu moves data only by DMA through the IOMMU, so the suite bounces through its
// staging page, reached one of three ways:
//   - the endpoint is in bypass (unattached with bypass on, or in a bypass domain): the
//     staging page's IOVA is its physical address;
//   - the endpoint is in an ordinary domain: the suite maps the staging page there once,
//     identity, far from the IOVAs scenarios use;
//   - the endpoint can reach nothing (unattached, no bypass): the suite attaches it to a
//     scratch domain with the staging page mapped, moves the bytes, and detaches it again,
//     which leaves it unattached as before.

import {
  VIRTIO_IOMMU_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
  statusName,
} from '../../dist/ts/index.js';
import type { EduDevice, StagingPage } from '../edu/edu.js';
import type { RequestVerb } from '../driver/requests.js';
import type { Session } from '../session.js';
import type { DriverView } from './driver-view.js';

export class StagingError extends Error {
  override name = 'StagingError';
}

export class EduRoute {
  readonly #mappedIn = new Set<number>();

  constructor(
    readonly session: Session,
    readonly edu: EduDevice,
    readonly view: DriverView,
  ) {}

  get #page(): StagingPage {
    const { base, size } = this.session.staging;
    return { iova: base, phys: base, size };
  }

  /** Forget staging mappings (after a device reset). */
  reset(): void {
    this.#mappedIn.clear();
  }

  /** Puts `bytes` at the start of edu's buffer. */
  load(bytes: Uint8Array): Promise<void> {
    return this.#through(() => this.edu.loadBuffer(bytes, this.#page));
  }

  /** Reads `length` bytes from the start of edu's buffer. */
  read(length: number): Promise<Uint8Array> {
    return this.#through(() => this.edu.readBuffer(length, this.#page));
  }

  async #through<T>(transfer: () => Promise<T>): Promise<T> {
    const driver = this.session.driver;
    const endpoint = this.edu.endpointId;
    const domain = this.view.domainOf(endpoint);
    if (domain?.bypass === true) return transfer();
    if (domain !== undefined) {
      await this.#mapStaging(domain.id);
      return transfer();
    }
    const bypass = driver.has(VIRTIO_IOMMU_F_BYPASS_CONFIG)
      ? (await driver.readConfig()).bypass === 1
      : driver.has(VIRTIO_IOMMU_F_BYPASS);
    if (bypass) return transfer();
    const scratch = await this.#scratchDomain();
    await this.#send('attach', { domain: BigInt(scratch), endpoint: BigInt(endpoint) });
    this.#mappedIn.delete(scratch);
    try {
      await this.#mapStaging(scratch);
      return await transfer();
    } finally {
      await this.#send('detach', { domain: BigInt(scratch), endpoint: BigInt(endpoint) });
      this.#mappedIn.delete(scratch);
    }
  }

  async #mapStaging(domain: number): Promise<void> {
    if (this.#mappedIn.has(domain)) return;
    const { base, size } = this.session.staging;
    await this.#send('map', {
      domain: BigInt(domain),
      virt_start: base,
      virt_end: base + BigInt(size) - 1n,
      phys_start: base,
      flags: BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
    });
    this.#mappedIn.add(domain);
  }

  /** The highest domain ID the device accepts: away from the small IDs scenarios use. */
  async #scratchDomain(): Promise<number> {
    const driver = this.session.driver;
    if (!driver.has(VIRTIO_IOMMU_F_DOMAIN_RANGE)) return 0xffff_ffff;
    return (await driver.readConfig()).domain_range.end;
  }

  async #send(verb: RequestVerb, fields: Record<string, bigint>): Promise<void> {
    const result = await this.session.driver.request(verb, fields);
    if (result.status !== VIRTIO_IOMMU_S_OK) {
      const status =
        result.status === undefined ? `used length ${result.usedLen}` : statusName(result.status);
      throw new StagingError(
        `the suite could not reach edu's buffer: its ${verb.toUpperCase()} of the staging page got ${status}`,
      );
    }
  }
}
