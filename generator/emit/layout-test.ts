// dist/test/virtio_iommu_layout.c: asserts, at compile time, every struct size, field offset,
// field size and constant value of the C view against <linux/virtio_iommu.h>. Point the
// include path at any copy of the header to check that copy:
//   cc -std=c11 -fsyntax-only -I dist/include dist/test/virtio_iommu_layout.c

import type { SpecModel } from '../model.js';
import { viewDefines, viewStructs, type CView } from './c-view.js';
import { banner, code, ident, lines, type Code } from './codegen.js';
import { guardDrafts } from './uapi-header.js';

export const LAYOUT_TEST_PATH = 'dist/test/virtio_iommu_layout.c';

export function emitLayoutTest(model: SpecModel, view: CView): string {
  // A draft's asserts are guarded like its definitions in the header.
  const asserts = guardDrafts(viewStructs(view), (s) => {
    const struct = ident(s.name, 'c');
    const asserts: Code[] = [
      code``,
      code`_Static_assert(sizeof(struct ${struct}) == ${s.size}, "sizeof(struct ${struct})");`,
    ];
    for (const f of s.fields) {
      const field = ident(f.name, 'c');
      asserts.push(
        code`_Static_assert(offsetof(struct ${struct}, ${field}) == ${f.offset}, "offset of ${struct}.${field}");`,
      );
      if (!f.flexible) {
        asserts.push(
          code`_Static_assert(FIELD_SIZE(${struct}, ${field}) == ${f.size}, "size of ${struct}.${field}");`,
        );
      }
    }
    return asserts;
  });
  const defines = guardDrafts(viewDefines(view), (d) => {
    const name = ident(d.name, 'c');
    return [code`_Static_assert(${name} == ${d.value}, "value of ${name}");`];
  });
  return code`${banner(model, ['Compile-time checks of the struct layout and constants of <linux/virtio_iommu.h>.'])}${lines(
    [
      code`#include <stddef.h>`,
      code`#include <linux/virtio_iommu.h>`,
      code``,
      code`#define FIELD_SIZE(s, f) sizeof(((struct s *)0)->f)`,
      ...asserts,
      code``,
      ...defines,
    ],
  )}`.toString();
}
