// dist/ts/index.ts: the one module device-ref and conformance import.

import type { SpecModel } from '../model.js';
import { banner, code, lines } from './codegen.js';

export const TS_INDEX_PATH = 'dist/ts/index.ts';

export function emitTsIndex(model: SpecModel): string {
  return code`${banner(model)}${lines([
    code``,
    code`export * from './constants.js';`,
    code`export * from './layout.js';`,
    code`export * from './field-layouts.js';`,
    code`export * from './names.js';`,
    code`export type * from './types.js';`,
    code`export * from './codecs.js';`,
    code`export * from './requests.js';`,
    code`export * from './virtio-pci.js';`,
    code`export { CodecError, type Bytes, type CodecErrorKind } from './runtime.js';`,
  ])}`.toString();
}
