// Golden bytes from the C compiler: the same values written by a C program through the
// generated header and by the TS encoders of dist/ts must give the same bytes.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import * as codecs from '../../dist/ts/index.js';
import { tsRecords, type TsRecord } from '../emit/ts-records.js';
import { UAPI_HEADER_PATH } from '../emit/uapi-header.js';
import type { SpecModel } from '../model.js';
import { distOutputs } from '../outputs.js';
import { runC } from './c-compiler.js';
import { fieldArbitraries, PLAIN, type Value } from './codec-values.js';
import { specModel } from './spec-model.js';

type Encode = (bytes: Uint8Array | DataView, value: Value, ...rest: number[]) => number;

const api = codecs as unknown as Record<string, unknown>;
const encoderOf = (r: TsRecord) => api[`encode${r.name}`] as Encode;

describe('golden bytes from the C compiler', () => {
  // The same values written by a C program through the generated header and by the TS
  // encoders must give the same bytes: one struct layout, one byte order.
  it('match what the TS encoders write, for every struct and the PROBE driver part', () => {
    const model = specModel();
    const dir = mkdtempSync(join(tmpdir(), 'viommu-golden-'));
    try {
      const header = join(dir, UAPI_HEADER_PATH);
      mkdirSync(dirname(header), { recursive: true });
      writeFileSync(header, distOutputs(model).get(UAPI_HEADER_PATH)!);
      // Every fixed struct, and the driver part of PROBE: C's struct ends at its flexible array.
      const cases = tsRecords(model).filter(
        (r) => (!r.part && !r.variable) || (r.part === 'driver' && r.struct.variable),
      );
      const program: string[] = [
        '#include <endian.h>',
        '#include <stdio.h>',
        '#include <string.h>',
        '#include <linux/virtio_iommu.h>',
        'static void dump(const char *name, const void *p, size_t n)',
        '{',
        '\tconst unsigned char *b = p;',
        '\tsize_t i;',
        '\tprintf("%s ", name);',
        '\tfor (i = 0; i < n; i++)',
        '\t\tprintf("%02x", b[i]);',
        '\tprintf("\\n");',
        '}',
        'int main(void)',
        '{',
      ];
      const expected = new Map<string, string>();
      for (const r of cases) {
        const values = fc.sample(fc.record(fieldArbitraries(model, r.fields, 0), PLAIN), {
          seed: 23,
          numRuns: 4,
        }) as Value[];
        values.forEach((value, i) => {
          const name = `${r.key}/${i}`;
          program.push('\t{', `\t\tstruct ${r.struct.name} s;`, '\t\tmemset(&s, 0, sizeof s);');
          program.push(...cAssignments(model, r.struct.name, value, 's').map((l) => `\t\t${l}`));
          program.push(`\t\tdump("${name}", &s, sizeof s);`, '\t}');
          const bytes = new Uint8Array(r.size);
          encoderOf(r)(bytes, value);
          expected.set(name, Buffer.from(bytes).toString('hex'));
        });
      }
      program.push('\treturn 0;', '}', '');
      const printed = new Map(
        runC(program.join('\n'), join(dir, 'dist', 'include'))
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]),
      );
      assert.ok(printed.size >= 4 * 13, `only ${printed.size} cases`);
      assert.deepEqual(printed, expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** C statements that store `value` into `lhs`, a struct `name`, through the generated header. */
function cAssignments(model: SpecModel, name: string, value: Value, lhs: string): string[] {
  const struct = model.structs.find((s) => s.name === name)!;
  const out: string[] = [];
  const store = (type: string, x: unknown) =>
    type === 'u8'
      ? `${String(x)}u`
      : type === 'le64'
        ? `htole64(0x${(x as bigint).toString(16)}ull)`
        : `hto${type}(${String(x)}u)`;
  for (const f of struct.fields) {
    if (f.kind === 'variable') break;
    const x = value[f.name];
    const to = `${lhs}.${f.name}`;
    if (f.kind === 'scalar' && f.count === undefined) out.push(`${to} = ${store(f.type, x)};`);
    else if (f.kind === 'scalar')
      Array.from(x as ArrayLike<unknown>).forEach((e, i) =>
        out.push(`${to}[${i}] = ${store(f.type, e)};`),
      );
    else if (f.kind === 'struct') out.push(...cAssignments(model, f.struct, x as Value, to));
    else if (f.kind === 'bits') {
      const word = f.bits.reduce((w, b) => w + (value[b.name] as number) * 2 ** b.shift, 0);
      out.push(`${to} = ${store(f.type, word)};`);
    }
  }
  return out;
}
