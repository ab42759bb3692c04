// Typed requests: a verb and field values by path become the device-readable bytes through
// the generated encoders. A field is set by its dotted path (`head.type`, `domain`,
// `reserved`); a byte array (`reserved[4]`) takes a number as little-endian bytes.

import {
  REQUEST_TYPE_NAMES,
  REQUESTS,
  type RequestEntry,
  type RequestVerb,
} from '../../dist/ts/index.js';

export type { RequestVerb };

/** Field values by dotted path. */
export type FieldValues = Readonly<Record<string, bigint>>;

/** The registry's entry of `verb`, its parts seen as records whose fields are set by path. */
function requestEntry(verb: RequestVerb): RequestEntry<Record<string, unknown>, unknown> {
  return REQUESTS[verb] as unknown as RequestEntry<Record<string, unknown>, unknown>;
}

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
  const entry = requestEntry(verb);
  const value = entry.blank();
  for (const path of Object.keys(fields)) setField(verb, value, path, fields[path]!);
  const readable = requestBytes(entry.readableSize);
  entry.encodeDriverPart(readable, value);
  return { readable, writableLength: writableLength(verb, probeSize) };
}

/**
 * Request bytes are carved from a shared ArrayBuffer: a fresh small Uint8Array lives on V8's
 * heap, and the codecs' first look at its `.buffer` (for a DataView) moves it off the heap
 * and makes a DataView, a microsecond or two per request; the arena's DataView is made once.
 * An arena is dropped when full; the requests carved from it keep it alive.
 */
const ARENA_SIZE = 0x1_0000;
let arena = new ArrayBuffer(ARENA_SIZE);
let arenaUsed = 0;

/** `length` zero bytes of their own (8-byte aligned in the arena). */
function requestBytes(length: number): Uint8Array {
  if (length > ARENA_SIZE / 16) return new Uint8Array(length);
  if (arenaUsed + length > ARENA_SIZE) {
    arena = new ArrayBuffer(ARENA_SIZE);
    arenaUsed = 0;
  }
  const bytes = new Uint8Array(arena, arenaUsed, length);
  arenaUsed += (length + 7) & ~7;
  return bytes;
}

/** Size of the device-writable part of `verb` for a device with this probe_size. */
export function writableLength(verb: RequestVerb, probeSize: number): number {
  const entry = REQUESTS[verb];
  return entry.writableSize + (entry.writableVariable === undefined ? 0 : probeSize);
}

const LIMIT_32 = 1n << 32n;
const LIMIT_64 = 1n << 64n;

function setField(
  verb: string,
  record: Record<string, unknown>,
  path: string,
  value: bigint,
): void {
  // Most paths name a field of the request itself: no split for them.
  const parts = path.includes('.') ? path.split('.') : [path];
  let at = record;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    const next = at[part];
    if (typeof next !== 'object' || next === null || next instanceof Uint8Array) {
      throw new FieldError(`${verb} request: \`${path}\` is not a field (no struct \`${part}\`)`);
    }
    at = next as Record<string, unknown>;
  }
  const name = parts[parts.length - 1]!;
  const current = at[name];
  if (typeof current === 'bigint') {
    if (value < 0n || value >= LIMIT_64)
      throw new FieldError(`${verb} request: ${value} does not fit \`${path}\``);
    at[name] = value;
  } else if (typeof current === 'number') {
    if (value < 0n || value >= LIMIT_32)
      throw new FieldError(`${verb} request: ${value} does not fit \`${path}\``);
    at[name] = Number(value);
  } else if (current instanceof Uint8Array) {
    if (value < 0n || value >= 1n << BigInt(8 * current.length)) {
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
