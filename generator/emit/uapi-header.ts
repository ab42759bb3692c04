// dist/include/linux/virtio_iommu.h: the C view as a Linux UAPI header (`__u8`, `__le32`,
// include guard, `#define` groups, tab-aligned like the kernel's copy). It compiles as C89
// through C23 and as C++ with -Wall -Wextra -Werror -pedantic.

import type { SpecModel } from '../model.js';
import {
  C_SCALAR,
  type CDefine,
  type CDefineGroup,
  type CField,
  type CStruct,
  type CView,
} from './c-view.js';
import {
  banner,
  cExpression,
  code,
  comment,
  firstSentence,
  ident,
  lines,
  oneOf,
  prose,
  tabAlign,
  type Code,
} from './codegen.js';

export const UAPI_HEADER_PATH = 'dist/include/linux/virtio_iommu.h';
const GUARD = code`_LINUX_VIRTIO_IOMMU_H`;

const aligned = (left: Code, right: Code): Code => tabAlign(left, right, 48);

function outsideSpecComment(reason: string, indent: string): Code {
  return comment(`Outside the spec. ${reason}`, indent);
}

/** The macro that lets a draft's definitions into a compilation: `-DVIRTIO_IOMMU_DRAFTS`. */
export const DRAFTS_MACRO = 'VIRTIO_IOMMU_DRAFTS';

/**
 * A draft's definitions, said to be one and guarded by DRAFTS_MACRO, so that a plain
 * `#include` sees the spec alone and the header compiles either way.
 */
export function draftGuard(draft: string, body: Code[]): Code[] {
  return [
    comment(`Draft ${draft}: proposed, not part of the spec; compiled with -D${DRAFTS_MACRO}.`),
    code`#ifdef ${ident(DRAFTS_MACRO, 'c')}`,
    ...body,
    code`#endif`,
  ];
}

/**
 * Items in order, with each run of consecutive items of one draft guarded together.
 */
export function guardDrafts<T extends { draft?: string }>(
  items: T[],
  emit: (item: T) => Code[],
): Code[] {
  const out: Code[] = [];
  let run: { draft: string; body: Code[] } | undefined;
  const flush = () => {
    if (run) out.push(...draftGuard(run.draft, run.body));
    run = undefined;
  };
  for (const item of items) {
    if (item.draft === undefined) {
      flush();
      out.push(...emit(item));
      continue;
    }
    if (run?.draft !== item.draft) flush();
    run ??= { draft: item.draft, body: [] };
    run.body.push(...emit(item));
  }
  flush();
  return out;
}

function emitDefine(d: CDefine): Code[] {
  const out: Code[] = [];
  if (d.outsideSpec) out.push(outsideSpecComment(d.outsideSpec, ''));
  else if (d.doc) out.push(comment(firstSentence(d.doc)));
  out.push(aligned(code`#define ${ident(d.name, 'c')}`, cExpression(d.expression)));
  return out;
}

function emitDefines(group: CDefineGroup): Code[] {
  return guardDrafts(group.defines, emitDefine);
}

function bitsComment(f: CField): string {
  return (f.bits ?? [])
    .map(
      (b) =>
        `${b.name}: bit${b.width > 1 ? `s ${b.shift}-${b.shift + b.width - 1}` : ` ${b.shift}`}`,
    )
    .join(', ');
}

function emitField(f: CField): Code[] {
  const out: Code[] = [];
  if (f.partStart)
    out.push(code`\t/* device-${f.partStart === 'readable' ? code`readable` : code`writable`} */`);
  if (f.outsideSpec) out.push(outsideSpecComment(f.outsideSpec, '\t'));
  else if (f.doc) out.push(comment(firstSentence(f.doc), '\t'));
  if (f.bits) out.push(comment(`A little-endian ${f.size * 8}-bit word: ${bitsComment(f)}`, '\t'));
  const type = f.type.startsWith('struct ')
    ? code`struct ${ident(f.type.slice('struct '.length), 'c')}`
    : oneOf(f.type, Object.values(C_SCALAR));
  // ISO C90 and C++ have no flexible array member; __extension__ keeps -pedantic quiet.
  const left = f.flexible ? code`\t__extension__ ${type}` : code`\t${type}`;
  const suffix = f.flexible ? code`[]` : f.count !== undefined ? code`[${f.count}]` : code``;
  out.push(aligned(left, code`${ident(f.name, 'c')}${suffix};`));
  return out;
}

function emitStruct(s: CStruct, packed: boolean): Code[] {
  const out: Code[] = [];
  if (s.doc) out.push(comment(firstSentence(s.doc)));
  out.push(code`struct ${ident(s.name, 'c')} {`);
  for (const f of s.fields) out.push(...emitField(f));
  if (s.trailing.length) {
    const flexible = s.fields[s.fields.length - 1];
    const after = s.trailing
      .map((t) =>
        t.kind === 'struct'
          ? `struct ${t.struct} ${t.name};`
          : t.kind === 'variable'
            ? `${t.name}[]`
            : `${C_SCALAR[t.type]} ${t.name};`,
      )
      .join(' ');
    out.push(
      comment(
        `${after} follows ${flexible.name}, which is ${s.lengthField ?? ''} bytes long; there is no padding between them.`,
        '\t',
      ),
    );
  }
  // A packed historic version: GNU C's attribute, which -pedantic accepts in C and C++.
  out.push(packed ? code`} __attribute__((packed));` : code`};`);
  return out;
}

export function emitUapiHeader(model: SpecModel, view: CView, bannerLines: string[] = []): string {
  const body: Code[] = [];
  let section: string | undefined;
  for (const item of view.items) {
    body.push(code``);
    if (item.section !== section) {
      section = item.section;
      body.push(code`/*`, code` * ${prose(section)}`, code` */`);
    }
    body.push(
      ...(item.kind === 'defines'
        ? emitDefines(item)
        : guardDrafts([item], (s) => emitStruct(s, model.layout === 'packed'))),
    );
  }
  const text = code`${banner(model, bannerLines)}${lines([
    code`#ifndef ${GUARD}`,
    code`#define ${GUARD}`,
    code``,
    code`#include <linux/types.h>`,
    ...body,
    code``,
    code`#endif /* ${GUARD} */`,
  ])}`;
  return text.toString();
}
