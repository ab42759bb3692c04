// Typed requests: a verb and field values by path become the device-readable bytes through
// the generated encoders. A field is set by its dotted path (`head.type`, `domain`,
// `reserved`); a byte array (`reserved[4]`) takes a number as little-endian bytes.

import {
  SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DEVICE_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_DETACH_DEVICE_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_DETACH_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_MAP_DEVICE_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DEVICE_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_UNMAP_DEVICE_PART,
  SIZEOF_VIRTIO_IOMMU_REQ_UNMAP_DRIVER_PART,
  VIRTIO_IOMMU_T_ATTACH,
  VIRTIO_IOMMU_T_DETACH,
  VIRTIO_IOMMU_T_MAP,
  VIRTIO_IOMMU_T_PROBE,
  VIRTIO_IOMMU_T_UNMAP,
  encodeAttachDriverPart,
  encodeDetachDriverPart,
  encodeMapDriverPart,
  encodeProbeDriverPart,
  encodeUnmapDriverPart,
  REQUEST_TYPE_NAMES,
  type RequestHead,
} from '../../dist/ts/index.js';

export type RequestVerb = 'attach' | 'detach' | 'map' | 'unmap' | 'probe';

/** Field values by dotted path. */
export type FieldValues = Readonly<Record<string, bigint>>;

interface RequestCodec {
  readableSize: number;
  /** The device-writable part without a variable array. */
  writableSize: number;
  /** Adds probe_size bytes of properties to the device-writable part. */
  variable: boolean;
  blank(): Record<string, unknown>;
  encode(bytes: Uint8Array, value: Record<string, unknown>): number;
}

const head = (type: number): RequestHead => ({ type, reserved: new Uint8Array(3) });

const CODECS: Record<RequestVerb, RequestCodec> = {
  attach: {
    readableSize: SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DRIVER_PART,
    writableSize: SIZEOF_VIRTIO_IOMMU_REQ_ATTACH_DEVICE_PART,
    variable: false,
    blank: () => ({
      head: head(VIRTIO_IOMMU_T_ATTACH),
      domain: 0,
      endpoint: 0,
      flags: 0,
      reserved: new Uint8Array(4),
    }),
    encode: (bytes, value) => encodeAttachDriverPart(bytes, value as never),
  },
  detach: {
    readableSize: SIZEOF_VIRTIO_IOMMU_REQ_DETACH_DRIVER_PART,
    writableSize: SIZEOF_VIRTIO_IOMMU_REQ_DETACH_DEVICE_PART,
    variable: false,
    blank: () => ({
      head: head(VIRTIO_IOMMU_T_DETACH),
      domain: 0,
      endpoint: 0,
      reserved: new Uint8Array(8),
    }),
    encode: (bytes, value) => encodeDetachDriverPart(bytes, value as never),
  },
  map: {
    readableSize: SIZEOF_VIRTIO_IOMMU_REQ_MAP_DRIVER_PART,
    writableSize: SIZEOF_VIRTIO_IOMMU_REQ_MAP_DEVICE_PART,
    variable: false,
    blank: () => ({
      head: head(VIRTIO_IOMMU_T_MAP),
      domain: 0,
      virt_start: 0n,
      virt_end: 0n,
      phys_start: 0n,
      flags: 0,
    }),
    encode: (bytes, value) => encodeMapDriverPart(bytes, value as never),
  },
  unmap: {
    readableSize: SIZEOF_VIRTIO_IOMMU_REQ_UNMAP_DRIVER_PART,
    writableSize: SIZEOF_VIRTIO_IOMMU_REQ_UNMAP_DEVICE_PART,
    variable: false,
    blank: () => ({
      head: head(VIRTIO_IOMMU_T_UNMAP),
      domain: 0,
      virt_start: 0n,
      virt_end: 0n,
      reserved: new Uint8Array(4),
    }),
    encode: (bytes, value) => encodeUnmapDriverPart(bytes, value as never),
  },
  probe: {
    readableSize: SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART,
    writableSize: SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DEVICE_PART,
    variable: true,
    blank: () => ({ head: head(VIRTIO_IOMMU_T_PROBE), endpoint: 0, reserved: new Uint8Array(64) }),
    encode: (bytes, value) => encodeProbeDriverPart(bytes, value as never),
  },
};

/**
 * The request `readable` really is, read from its head.type (the low 8 bits of its first
 * byte): `ATTACH`, or `request of type 0` when the spec defines no such type. Evidence names
 * requests this way, so a test that sends an ATTACH body with head.type 0 says so.
 */
export function requestName(readable: Uint8Array): string {
  if (readable.length === 0) return 'an empty request';
  const type = readable[0]!;
  const name = REQUEST_TYPE_NAMES[type];
  return name === undefined ? `request of type ${type}` : name.replace(/^VIRTIO_IOMMU_T_/, '');
}

export class FieldError extends Error {
  override name = 'FieldError';
}

/** The device-readable bytes of a request and the room its device-writable part needs. */
export function encodeRequest(
  verb: RequestVerb,
  fields: FieldValues,
  probeSize = 0,
): { readable: Uint8Array; writableLength: number } {
  const codec = CODECS[verb];
  const value = codec.blank();
  for (const [path, number] of Object.entries(fields)) setField(verb, value, path, number);
  const readable = new Uint8Array(codec.readableSize);
  codec.encode(readable, value);
  return { readable, writableLength: codec.writableSize + (codec.variable ? probeSize : 0) };
}

/** Size of the device-writable part of `verb` for a device with this probe_size. */
export function writableLength(verb: RequestVerb, probeSize: number): number {
  const codec = CODECS[verb];
  return codec.writableSize + (codec.variable ? probeSize : 0);
}

function setField(
  verb: string,
  record: Record<string, unknown>,
  path: string,
  value: bigint,
): void {
  const parts = path.split('.');
  let at = record;
  for (const part of parts.slice(0, -1)) {
    const next = at[part];
    if (typeof next !== 'object' || next === null || next instanceof Uint8Array) {
      throw new FieldError(`${verb} request: \`${path}\` is not a field (no struct \`${part}\`)`);
    }
    at = next as Record<string, unknown>;
  }
  const name = parts.at(-1)!;
  const current = at[name];
  const fits = (bits: number): boolean => value >= 0n && value < 1n << BigInt(bits);
  if (typeof current === 'bigint') {
    if (!fits(64)) throw new FieldError(`${verb} request: ${value} does not fit \`${path}\``);
    at[name] = value;
  } else if (typeof current === 'number') {
    if (!fits(32)) throw new FieldError(`${verb} request: ${value} does not fit \`${path}\``);
    at[name] = Number(value);
  } else if (current instanceof Uint8Array) {
    if (!fits(8 * current.length)) {
      throw new FieldError(
        `${verb} request: ${value} does not fit the ${current.length} bytes of \`${path}\``,
      );
    }
    const bytes = new Uint8Array(current.length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
    at[name] = bytes;
  } else {
    throw new FieldError(`${verb} request: \`${path}\` is not a field`);
  }
}
