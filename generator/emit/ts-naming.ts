// TypeScript names for the model's structs, shared by the dist/ts emitters. The device
// prefix (`virtio_iommu_`) is dropped; a request `virtio_iommu_req_map` becomes
// `MapRequest` with parts `MapDriverPart` (device-readable: what the driver writes) and
// `MapDevicePart` (device-writable); other structs keep their words: `RequestHead`,
// `ProbeResvMem`, `Fault`. Field names stay as the spec spells them.

import type { Field, SpecModel, Struct } from '../model.js';
import { pascalCase } from './codegen.js';

export interface StructNames {
  /** The TypeScript type of the whole struct. */
  type: string;
  /** For a request: its driver part and device part types. */
  driverPart?: string;
  devicePart?: string;
  /** Base word of the request's function names: `Map` in `encodeMapDriverPart`. */
  verb?: string;
}

/** The longest `_`-ended prefix all struct names share: `virtio_iommu_`. */
export function devicePrefix(model: SpecModel): string {
  const names = model.structs.map((s) => s.name);
  if (names.length === 0) return '';
  let prefix = names[0];
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.slice(0, prefix.lastIndexOf('_') + 1);
}

export function structNames(model: SpecModel): Map<string, StructNames> {
  const prefix = devicePrefix(model);
  const out = new Map<string, StructNames>();
  const taken = new Map<string, string>();
  const claim = (tsName: string, struct: string): string => {
    const other = taken.get(tsName);
    if (other && other !== struct) {
      throw new Error(
        `Structs \`${other}\` and \`${struct}\` would both be called ${tsName} in dist/ts; rename one in spec-src`,
      );
    }
    taken.set(tsName, struct);
    return tsName;
  };
  for (const s of model.structs) {
    const rest = s.name.slice(prefix.length) || s.name;
    const request = s.request ? /^req_(.+)$/.exec(rest) : null;
    if (request) {
      const verb = pascalCase(request[1]);
      out.set(s.name, {
        type: claim(`${verb}Request`, s.name),
        driverPart: claim(`${verb}DriverPart`, s.name),
        devicePart: claim(`${verb}DevicePart`, s.name),
        verb,
      });
    } else {
      out.set(s.name, {
        type: claim(pascalCase(rest.replace(/(^|_)req(?=_|$)/g, '$1request')), s.name),
      });
    }
  }
  return out;
}

/** The struct's variable array, if any. */
export function variableOf(s: Struct): (Field & { kind: 'variable' }) | undefined {
  return s.fields.find((f): f is Field & { kind: 'variable' } => f.kind === 'variable');
}
