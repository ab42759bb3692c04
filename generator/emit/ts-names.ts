// dist/ts/names.ts: names for codes, for messages. One table and one function per constant
// group, named after the group by the spec's letter convention (T type, S status, R reason,
// F feature or flag): VIRTIO_IOMMU_S_* gives STATUS_NAMES and statusName(code),
// VIRTIO_IOMMU_MAP_F_* gives MAP_FLAG_NAMES and mapFlagNames(flags), and the group of the
// request types gives requestTypeName(type).

import type { ConstantGroup, SpecModel } from '../model.js';
import {
  banner,
  camelCase,
  code,
  comment,
  hex,
  ident,
  lines,
  quote,
  type Code,
} from './codegen.js';

export const TS_NAMES_PATH = 'dist/ts/names.ts';

const LETTER_WORDS: Record<string, string> = { T: 'type', S: 'status', R: 'reason' };

function commonPrefix(model: SpecModel): string {
  const names = model.constants.map((c) => c.name);
  if (names.length === 0) return '';
  let prefix = names[0];
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.slice(0, prefix.lastIndexOf('_') + 1);
}

/** `VIRTIO_IOMMU_FAULT_R_` → `fault_reason`. */
function groupWord(model: SpecModel, g: ConstantGroup): string {
  const rest = g.prefix.slice(commonPrefix(model).length).replace(/_$/, '');
  const parts = rest.split('_');
  const letter = parts.pop() ?? '';
  const requestTypes = new Set(model.structs.flatMap((s) => (s.request ? [s.request.type] : [])));
  const word =
    g.members.length > 0 && g.members.every((m) => requestTypes.has(m))
      ? 'request_type'
      : g.kind === 'feature'
        ? 'feature'
        : g.kind === 'flags'
          ? 'flag'
          : (LETTER_WORDS[letter] ?? letter.toLowerCase());
  return [...parts.map((p) => p.toLowerCase()), word].join('_');
}

export function emitTsNames(model: SpecModel): string {
  const constants = new Map(model.constants.map((c) => [c.name, c]));
  const out: Code[] = [];
  const taken = new Set<string>();
  for (const g of model.groups) {
    const word = groupWord(model, g);
    const table = ident(`${word.toUpperCase()}_NAMES`, 'ts');
    const fn = ident(camelCase(`${word}_${g.kind === 'flags' ? 'names' : 'name'}`), 'ts');
    if (taken.has(fn.toString()))
      throw new Error(`Two constant groups would both give ${fn.toString()} in dist/ts/names.ts`);
    taken.add(fn.toString());
    const members = g.members.map((m) => constants.get(m)!);
    out.push(
      code``,
      comment(`${g.prefix}* by value.`, '', { doc: true }),
      code`export const ${table}: Readonly<Record<number, string>> = {`,
      ...members.map(
        (c) => code`  ${g.kind === 'flags' ? hex(c.value) : code`${c.value}`}: ${quote(c.name)},`,
      ),
      code`};`,
      code``,
    );
    if (g.kind === 'flags') {
      const known = members.reduce((mask, c) => mask | BigInt(c.value), 0n);
      out.push(
        comment(
          `The ${g.prefix}* names of the bits set in \`flags\`, and \`bit N\` for others.`,
          '',
          { doc: true },
        ),
        code`export function ${fn}(flags: number): string[] {`,
        code`  const out: string[] = [];`,
        ...members.map(
          (c) =>
            code`  if ((flags & ${hex(c.value)}) === ${hex(c.value)}) out.push(${quote(c.name)});`,
        ),
        code`  for (let bit = 0; bit < 32; bit++) {`,
        code`    if (((flags & ~${hex(known)}) >>> bit) & 1) out.push('bit ' + bit + ${quote(` (not a ${g.prefix}* flag)`)});`,
        code`  }`,
        code`  return out;`,
        code`}`,
      );
    } else {
      out.push(
        comment(
          `The ${g.prefix}* name of \`value\`, or the number and a note that it has none.`,
          '',
          { doc: true },
        ),
        code`export function ${fn}(value: number): string {`,
        code`  return ${table}[value] ?? value + ${quote(` (not a ${g.prefix}* value)`)};`,
        code`}`,
      );
    }
  }
  return code`${banner(model)}${lines(out)}`.toString();
}
