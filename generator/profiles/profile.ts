// Header profiles: the spec's C view plus the names one consumer keeps beyond the spec
// (generator/profiles/NAME.json, one reason per name). `viommu gen --profile` prints the
// result and `viommu drift --profile` compares a header with it.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateCExpression } from '../c-expression.js';
import { C_SCALAR, viewDefines, type CDefine, type CView } from '../emit/c-view.js';
import { readJsonFile } from '../json-file.js';
import type { ScalarType } from '../model.js';
import { groupPrefix, SCALAR_SIZE } from '../model-facts.js';
import { packageRoot } from '../paths.js';

export interface Profile {
  name: string;
  description: string;
  defines: { name: string; expression: string; reason: string }[];
  renames: { define: string; as: string; reason: string }[];
  fields: {
    struct: string;
    field: string;
    as: string;
    type: ScalarType;
    count?: number;
    reason: string;
  }[];
}

const profileDir = join(packageRoot, 'generator', 'profiles');

function profileNames(): string[] {
  return readdirSync(profileDir)
    .filter((n) => n.endsWith('.json') && !n.endsWith('.schema.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .sort();
}

export function loadProfile(name: string): Profile {
  const names = profileNames();
  if (!names.includes(name)) {
    throw new Error(
      `There is no profile \`${name}\`; profiles: ${names.join(', ')} (generator/profiles/)`,
    );
  }
  return readJsonFile<Profile>(
    join(profileDir, `${name}.json`),
    join(profileDir, 'profile.schema.json'),
    'Profile',
  );
}

/** The view with the profile applied. Throws when the profile names what the view lacks. */
export function applyProfile(view: CView, profile: Profile): CView {
  const where = `generator/profiles/${profile.name}.json`;
  const items = view.items.map((item) =>
    item.kind === 'defines'
      ? { ...item, defines: item.defines.map((d) => ({ ...d })) }
      : { ...item, fields: item.fields.map((f) => ({ ...f })) },
  );
  const out: CView = { items };
  const defines = new Map(viewDefines(out).map((d) => [d.name, d]));

  for (const r of profile.renames) {
    const d = defines.get(r.define);
    if (!d)
      throw new Error(
        `${where}: renames \`${r.define}\`, which the generated header does not define`,
      );
    defines.delete(r.define);
    d.name = r.as;
    d.outsideSpec = r.reason;
    defines.set(d.name, d);
  }

  for (const f of profile.fields) {
    const struct = items.find((i) => i.kind === 'struct' && i.name === f.struct);
    const field =
      struct?.kind === 'struct' ? struct.fields.find((x) => x.name === f.field) : undefined;
    if (!field)
      throw new Error(
        `${where}: names field \`${f.struct}.${f.field}\`, which the spec does not have`,
      );
    const size = SCALAR_SIZE[f.type] * (f.count ?? 1);
    if (size !== field.size || field.bits || field.flexible) {
      throw new Error(
        `${where}: \`${f.struct}.${f.field}\` as ${f.type}${f.count ? `[${f.count}]` : ''} would be ${size} bytes; the spec field is ${field.size}`,
      );
    }
    field.name = f.as;
    field.type = C_SCALAR[f.type];
    if (f.count !== undefined) field.count = f.count;
    else delete field.count;
    field.outsideSpec = f.reason;
  }

  for (const extra of profile.defines) {
    if (defines.has(extra.name))
      throw new Error(`${where}: \`${extra.name}\` is already defined by the spec`);
    const value = evaluateCExpression(extra.expression, (n) => {
      const d = defines.get(n);
      return d ? BigInt(d.value) : undefined;
    });
    if (value === undefined) {
      throw new Error(
        `${where}: the value of \`${extra.name}\` (${extra.expression}) is not an expression of known names`,
      );
    }
    const prefix = groupPrefix(extra.name);
    const group = items.find(
      (i) =>
        i.kind === 'defines' &&
        i.defines.some((d) => !d.outsideSpec && groupPrefix(d.name) === prefix),
    );
    if (!prefix || group?.kind !== 'defines') {
      throw new Error(`${where}: \`${extra.name}\` belongs to no group of the spec's constants`);
    }
    const define: CDefine = {
      name: extra.name,
      expression: extra.expression,
      value: Number(value),
      outsideSpec: extra.reason,
    };
    // Within its group, a name goes before the first spec member with a larger value.
    const at = group.defines.findIndex((d) => !d.outsideSpec && d.value > define.value);
    group.defines.splice(at < 0 ? group.defines.length : at, 0, define);
    defines.set(extra.name, define);
  }
  return out;
}
