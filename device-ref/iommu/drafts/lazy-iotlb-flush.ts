// Layer: iommu.
// Draft lazy-iotlb-flush (spec-src/11-lazy-iotlb-flush.md), for a board with
// `"drafts": ["lazy-iotlb-flush"]`: ATTACH with VIRTIO_IOMMU_ATTACH_F_LAZY creates or joins a
// lazy domain, and IOTLB_FLUSH is served. Both only once the driver has accepted
// VIRTIO_IOMMU_F_LAZY_IOTLB_FLUSH; before that the spec's handlers answer (an unknown flag,
// an unknown type).
//
// Statements: dev.lazy.flag-mismatch, dev.iotlb-flush.reserved, dev.iotlb-flush.no-domain,
// dev.iotlb-flush.complete. Choice: UNMAP is as strict in a lazy domain as in any other (the
// device keeps no IOTLB), so nothing stale is left to flush (dev.lazy.unmap-stale not taken).

import {
  decodeAttachDriverPart,
  encodeRequestTail,
  SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_TAIL,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_T_ATTACH,
} from '../../../dist/ts/index.js';
import type { DescriptorChain } from '../../virtio/device-model.js';
import { handleAttach } from '../attach.js';
import type { Domain, IommuCore } from '../core.js';
import { hexBytes } from '../../hex.js';
import { isAllZero } from '../fields.js';
import { draftConstant, draftFeatureBit } from './draft-constants.js';
import type { DraftExtension } from './drafts.js';

/** struct virtio_iommu_req_iotlb_flush: head (4), le32 domain at 4, u8 reserved[4] at 8, then the tail. */
const FLUSH_DOMAIN = 4;
const FLUSH_RESERVED = 8;
const FLUSH_DRIVER_PART = 12;

export class LazyIotlbFlush implements DraftExtension {
  readonly #core: IommuCore;
  readonly #feature = draftFeatureBit('lazy-iotlb-flush');
  readonly #flushType = draftConstant('VIRTIO_IOMMU_T_IOTLB_FLUSH');
  readonly #lazyFlag = draftConstant('VIRTIO_IOMMU_ATTACH_F_LAZY');
  /** The domains created in lazy mode; a domain that ceases to exist leaves with its object. */
  readonly #lazy = new WeakSet<Domain>();

  constructor(core: IommuCore) {
    this.#core = core;
  }

  serve(type: number, chain: DescriptorChain): Uint8Array | undefined {
    if (!this.#core.negotiated(this.#feature)) return undefined;
    if (chain.writableLength < SIZEOF_VIRTIO_IOMMU_REQ_TAIL) return undefined;
    if (type === VIRTIO_IOMMU_T_ATTACH) return this.#attach(chain.readable);
    if (type === this.#flushType) return this.#flush(chain.readable);
    return undefined;
  }

  #attach(request: Uint8Array): Uint8Array | undefined {
    if (request.length < SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART) return undefined;
    const attach = decodeAttachDriverPart(request);
    const lazy = (attach.flags & this.#lazyFlag) !== 0;
    const existing = this.#core.domains.get(attach.domain);
    if (existing && this.#lazy.has(existing) !== lazy) {
      this.#core.findings.observe(
        `ATTACH request: domain ${attach.domain} is ${lazy ? 'not ' : ''}in lazy mode, but the request ${lazy ? 'sets' : 'lacks'} VIRTIO_IOMMU_ATTACH_F_LAZY (drv.lazy.flag-consistent); the device refused it with VIRTIO_IOMMU_S_INVAL (dev.lazy.flag-mismatch)`,
        { domain: attach.domain, endpoint: attach.endpoint },
      );
      return tail(VIRTIO_IOMMU_S_INVAL);
    }
    if (!lazy) return undefined;
    const status = handleAttach(this.#core, { ...attach, flags: attach.flags & ~this.#lazyFlag });
    const domain = this.#core.domains.get(attach.domain);
    if (status === VIRTIO_IOMMU_S_OK && domain) this.#lazy.add(domain);
    return tail(status);
  }

  #flush(request: Uint8Array): Uint8Array {
    if (request.length < FLUSH_DRIVER_PART) {
      this.#core.findings.observe(
        `VIRTIO_IOMMU_T_IOTLB_FLUSH: the device-readable part has ${request.length} bytes instead of ${FLUSH_DRIVER_PART}; the device answered VIRTIO_IOMMU_S_INVAL`,
        { readable: request.length },
      );
      return tail(VIRTIO_IOMMU_S_INVAL);
    }
    const domain = new DataView(request.buffer, request.byteOffset).getUint32(FLUSH_DOMAIN, true);
    const reserved = request.subarray(FLUSH_RESERVED, FLUSH_DRIVER_PART);
    if (!isAllZero(reserved)) {
      this.#core.findings.observe(
        `IOTLB_FLUSH request: reserved is ${hexBytes(reserved)}, not zero (drv.iotlb-flush.reserved); the device refused it with VIRTIO_IOMMU_S_INVAL (dev.iotlb-flush.reserved)`,
        { domain },
      );
      return tail(VIRTIO_IOMMU_S_INVAL);
    }
    // No translation outlives its UNMAP here, so a flush of an existing domain has nothing left to remove.
    return tail(this.#core.domains.has(domain) ? VIRTIO_IOMMU_S_OK : VIRTIO_IOMMU_S_NOENT);
  }
}

function tail(status: number): Uint8Array {
  const bytes = new Uint8Array(SIZEOF_VIRTIO_IOMMU_REQ_TAIL);
  encodeRequestTail(bytes, { status, reserved: new Uint8Array(3) });
  return bytes;
}
