// dist/ts/constants.ts: every constant of the spec, the device ID, the virtqueue indexes
// and the bit masks the header derives, with the spec's names and documentation.

import type { SpecModel } from '../model.js';
import { bitDefines } from './c-view.js';
import { banner, code, comment, hex, ident, lines, quote, type Code } from './codegen.js';

export const TS_CONSTANTS_PATH = 'dist/ts/constants.ts';

export function emitTsConstants(model: SpecModel): string {
  const out: Code[] = [
    code``,
    comment('The version of the spec model this module was generated from.', '', { doc: true }),
    code`export const SPEC_VERSION = ${quote(model.version)};`,
    code``,
    comment('The virtio device ID of the IOMMU device.', '', { doc: true }),
    code`export const DEVICE_ID = ${model.deviceId};`,
    code``,
    comment('Virtqueue indexes by name.', '', { doc: true }),
    code`export const VIRTQUEUE = {`,
    ...model.virtqueues.map((q) => code`  ${ident(q.name, 'ts-property')}: ${q.index},`),
    code`} as const;`,
  ];
  const constants = new Map(model.constants.map((c) => [c.name, c]));
  for (const g of model.groups) {
    out.push(
      code``,
      comment(`${g.prefix}*: ${g.kind === 'feature' ? 'feature bit numbers' : g.kind}`),
    );
    for (const name of g.members) {
      const c = constants.get(name)!;
      if (c.doc) out.push(comment(c.doc, '', { doc: true }));
      const value = g.kind === 'flags' ? hex(c.value) : code`${c.value}`;
      out.push(code`export const ${ident(c.name, 'ts')} = ${value};`);
    }
  }
  for (const s of model.structs) {
    for (const f of s.fields) {
      if (f.kind !== 'bits') continue;
      for (const d of bitDefines(s, f)) {
        out.push(
          code``,
          comment(d.doc ?? d.name, '', { doc: true }),
          code`export const ${ident(d.name, 'ts')} = ${hex(d.value)};`,
        );
      }
    }
  }
  out.push(...byName(model));
  return code`${banner(model)}${lines(out)}`.toString();
}

/**
 * The spec's constants by name (what scenarios and board descriptions write), and the feature
 * bits by name with the type of their names: typed lookups instead of reading the module as
 * a record.
 */
function byName(model: SpecModel): Code[] {
  const features = model.groups.filter((g) => g.kind === 'feature');
  // The constants of the feature groups are listed once, in FEATURE_BITS, and spread here.
  const entries = model.groups.flatMap((g) => {
    if (g.kind !== 'feature') return g.members.map((name) => code`  ${ident(name, 'ts')},`);
    return g === features[0] ? [code`  ...FEATURE_BITS,`] : [];
  });
  return [
    code``,
    comment('The feature bits by name.', '', { doc: true }),
    code`export const FEATURE_BITS = {`,
    ...features.flatMap((g) => g.members.map((name) => code`  ${ident(name, 'ts')},`)),
    code`} as const;`,
    code``,
    code`export type FeatureName = keyof typeof FEATURE_BITS;`,
    code``,
    comment('Every constant of the spec by its name.', '', { doc: true }),
    code`export const CONSTANTS = {`,
    ...entries,
    code`} as const;`,
    code``,
    code`export type ConstantName = keyof typeof CONSTANTS;`,
    code``,
    comment('The same constants, for a lookup by a name that comes from data.', '', {
      doc: true,
    }),
    code`export const CONSTANTS_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(CONSTANTS));`,
  ];
}
