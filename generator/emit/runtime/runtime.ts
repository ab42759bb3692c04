// The runtime of the generated codecs: the few helpers they share (the CodecError type, the
// DataView cache, byte copies, the messages of errors). A source of its own, type-checked
// and linted with the generator; `viommu gen` copies it to dist/ts/runtime.ts under the
// banner (emit/ts-runtime.ts), so the codecs never import the generator.

/** Bytes to decode from or encode into: a DataView, or any Uint8Array (a Buffer, a subarray). */
export type Bytes = Uint8Array | DataView;

/** One field of a struct, for error messages: name, offset, size, type, nested struct. */
export type FieldInfo = readonly [
  name: string,
  offset: number,
  size: number,
  type: string,
  struct?: string,
];
export type LayoutTable = Readonly<Record<string, readonly FieldInfo[]>>;

export type CodecErrorKind = 'short-input' | 'bad-value' | 'malformed';

/**
 * What a codec throws instead of returning a wrong value: the input is too short
 * ('short-input', with the bytes needed and the bytes there), a value does not fit its field
 * ('bad-value'), or a length inside the data points outside it ('malformed').
 */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly kind: CodecErrorKind,
    /** The struct being decoded or encoded, as the spec names it. */
    readonly struct: string,
    /** The field at fault, dotted for nested fields: 'head.reserved'. */
    readonly field: string,
    message: string,
    /** For 'short-input' and 'malformed': bytes needed, from the start of the struct. */
    readonly needed?: number,
    /** For 'short-input' and 'malformed': bytes available, from the start of the struct. */
    readonly actual?: number,
  ) {
    super(message);
  }
}

// One DataView per ArrayBuffer, reused while the same buffer comes back (guest RAM, a
// benchmark's buffer): decoding from a Uint8Array then allocates nothing but the result.
let cachedBuffer: ArrayBufferLike | undefined;
let cachedView: DataView = new DataView(new ArrayBuffer(0));

/** The DataView to read `bytes` through; add `startOf(bytes, view)` to offsets. */
export function viewOf(bytes: Bytes): DataView {
  if (bytes instanceof DataView) return bytes;
  if (bytes.buffer !== cachedBuffer) {
    cachedBuffer = bytes.buffer;
    cachedView = new DataView(bytes.buffer);
  }
  return cachedView;
}

/** Where `bytes` starts within `view`. */
export function startOf(bytes: Bytes, view: DataView): number {
  return bytes.byteOffset - view.byteOffset;
}

/**
 * A copy of `length` bytes at `at`. Long runs of a plain ArrayBuffer are one block copy
 * into the result's own buffer; nothing else is allocated.
 */
export function copyBytes(view: DataView, at: number, length: number): Uint8Array {
  if (length > 16 && view.buffer instanceof ArrayBuffer) {
    const start = view.byteOffset + at;
    return new Uint8Array(view.buffer.slice(start, start + length));
  }
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getUint8(at + i);
  return out;
}

export function putBytes(view: DataView, at: number, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) view.setUint8(at + i, bytes[i]);
}

// Layout keys are struct names, with '#driver' or '#device' for the parts of a request.
const structOf = (key: string): string => key.split('#')[0];
const labelOf = (key: string): string =>
  key.includes('#') ? structOf(key) + ' (' + key.split('#')[1] + ' part)' : key;

/** The innermost field that covers byte `at` of `struct`, as a dotted path. */
function fieldAt(layout: LayoutTable, struct: string, at: number): string {
  for (const [name, offset, size, , nested] of layout[struct] ?? []) {
    if (at >= offset && (at < offset + size || size === 0)) {
      return nested ? name + '.' + fieldAt(layout, nested, at - offset) : name;
    }
  }
  return '(end)';
}

function fieldInfo(layout: LayoutTable, struct: string, path: string): FieldInfo | undefined {
  const [first, ...rest] = path.split('.');
  const info = (layout[struct] ?? []).find((f) => f[0] === first);
  return info && rest.length && info[4] ? fieldInfo(layout, info[4], rest.join('.')) : info;
}

export function shortInput(
  layout: LayoutTable,
  key: string,
  offset: number,
  needed: number,
  length: number,
  verb: 'decode' | 'encode',
): CodecError {
  const actual = Math.max(0, length - offset);
  const badOffset = offset >>> 0 !== offset;
  const field = badOffset ? '(offset)' : fieldAt(layout, key, actual);
  return new CodecError(
    'short-input',
    structOf(key),
    field,
    labelOf(key) +
      ': ' +
      verb +
      ' needs ' +
      needed +
      ' bytes at offset ' +
      offset +
      ', there are ' +
      actual +
      (badOffset ? ' (the offset is not a byte position)' : '; ' + field + ' does not fit'),
    needed,
    actual,
  );
}

export function badValue(
  layout: LayoutTable,
  key: string,
  path: string,
  record: unknown,
): CodecError {
  let value = record;
  for (const name of path.split('.'))
    value = (value as Record<string, unknown> | undefined)?.[name];
  const info = fieldInfo(layout, key, path);
  const shown =
    typeof value === 'bigint'
      ? value + 'n'
      : value instanceof Uint8Array
        ? 'Uint8Array(' + value.length + ')'
        : String(value);
  return new CodecError(
    'bad-value',
    structOf(key),
    path,
    labelOf(key) +
      ': ' +
      path +
      ' does not fit its field, ' +
      (info ? info[3] : 'unknown') +
      ' (got ' +
      shown +
      ')',
  );
}

/** A variable array's length parameter that is not a byte count. */
export function badLength(key: string, name: string, length: number): CodecError {
  return new CodecError(
    'bad-value',
    structOf(key),
    name,
    labelOf(key) + ': ' + name + ' must be a whole number of bytes (got ' + length + ')',
  );
}

export function malformed(
  struct: string,
  field: string,
  message: string,
  needed: number,
  actual: number,
): CodecError {
  return new CodecError('malformed', struct, field, struct + ': ' + message, needed, actual);
}
