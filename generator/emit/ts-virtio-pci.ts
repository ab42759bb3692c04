// dist/ts/virtio-pci.ts: the layout of the virtio-pci common configuration structure
// (generator/transport/virtio-pci-common-cfg.ts), laid out here: each field at the next
// offset, which must be aligned to its size as C would place it.

import type { SpecModel } from '../model.js';
import { SCALAR_SIZE } from '../model-facts.js';
import {
  VIRTIO_PCI_COMMON_CFG_FIELDS,
  type CommonCfgField,
} from '../transport/virtio-pci-common-cfg.js';
import { banner, code, comment, hex, ident, lines, quote, type Code } from './codegen.js';

export const TS_VIRTIO_PCI_PATH = 'dist/ts/virtio-pci.ts';

/** The fields with their offsets and sizes; throws where C would pad. */
export function layoutCommonCfg(fields: readonly CommonCfgField[] = VIRTIO_PCI_COMMON_CFG_FIELDS): {
  size: number;
  fields: (CommonCfgField & { offset: number; size: number })[];
} {
  let offset = 0;
  const laid = fields.map((f) => {
    const size = SCALAR_SIZE[f.type];
    if (offset % size !== 0) {
      throw new Error(
        `virtio_pci_common_cfg: ${f.name} at offset ${offset} is not aligned to ${size}`,
      );
    }
    const field = { ...f, offset, size };
    offset += size;
    return field;
  });
  return { size: offset, fields: laid };
}

export function emitTsVirtioPci(model: SpecModel): string {
  const layout = layoutCommonCfg();
  const out: Code[] = [
    code``,
    comment(
      'A field of the common configuration: its byte offset, its size, its type, and what the driver may do with it.',
      '',
      { doc: true },
    ),
    code`export interface CommonCfgField {`,
    code`  readonly offset: number;`,
    code`  readonly size: number;`,
    code`  readonly type: 'u8' | 'le16' | 'le32' | 'le64';`,
    code`  readonly access: 'read-write' | 'read-only';`,
    code`}`,
    code``,
    comment(
      `struct virtio_pci_common_cfg (virtio 1.4): ${layout.size} bytes. A 64-bit field is accessed as two 32-bit halves, the low one first.`,
      '',
      { doc: true },
    ),
    code`export const VIRTIO_PCI_COMMON_CFG = {`,
    ...layout.fields.map(
      (f) =>
        code`  ${ident(f.name, 'ts-property')}: { offset: ${hex(f.offset)}, size: ${f.size}, type: ${quote(f.type)}, access: ${quote(f.access)} },`,
    ),
    code`} as const satisfies Readonly<Record<string, CommonCfgField>>;`,
    code``,
    code`export type CommonCfgFieldName = keyof typeof VIRTIO_PCI_COMMON_CFG;`,
    code``,
    code`export const SIZEOF_VIRTIO_PCI_COMMON_CFG = ${layout.size};`,
  ];
  return code`${banner(model)}${lines(out)}`.toString();
}
