// Measures a header's real ABI: writes a small C program that prints sizeof and offsetof of
// every struct and field the header declares, and the value of every integer macro, builds
// it with the system C compiler ($CC, else cc) in a temporary folder, runs it and reads
// its output. Without a compiler the caller falls back to the header's text.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { ParsedHeader } from './parse-header.js';

export interface StructLayout {
  size: number;
  /** Offset and size (undefined for a flexible array member) of each field. */
  fields: Map<string, { offset: number; size?: number }>;
}

export interface Measurements {
  structs: Map<string, StructLayout>;
  values: Map<string, bigint>;
}

export type ProbeOutcome =
  | { kind: 'measured'; compiler: string; measurements: Measurements }
  | { kind: 'no-compiler'; compiler: string }
  | { kind: 'failed'; compiler: string; message: string };

const IDENT = /^[A-Za-z_]\w*$/;
/** A macro body the probe can print: an integer expression, no strings or calls we cannot see. */
const INTEGER_EXPRESSION = /^[\w\s()<>|&^~+\-*/%!]+$/;

function probeSource(header: ParsedHeader, include: string): string {
  const out = [
    '#include <stddef.h>',
    '#include <stdio.h>',
    `#include "${include}"`,
    '',
    'int main(void)',
    '{',
  ];
  for (const s of header.structs) {
    if (!IDENT.test(s.name)) continue;
    out.push(`\tprintf("S ${s.name} %lu\\n", (unsigned long)sizeof(struct ${s.name}));`);
    for (const f of s.fields) {
      if (!IDENT.test(f.name) || f.bits !== undefined) continue;
      const offset = `(unsigned long)offsetof(struct ${s.name}, ${f.name})`;
      if (f.count === '') out.push(`\tprintf("F ${s.name} ${f.name} %lu\\n", ${offset});`);
      else
        out.push(
          `\tprintf("F ${s.name} ${f.name} %lu %lu\\n", ${offset}, (unsigned long)sizeof(((struct ${s.name} *)0)->${f.name}));`,
        );
    }
  }
  for (const d of header.defines) {
    if (d.functionLike || !d.body || !IDENT.test(d.name) || !INTEGER_EXPRESSION.test(d.body))
      continue;
    out.push(
      `\tprintf("D ${d.name} %d %llu\\n", (${d.name}) < 0, (unsigned long long)(${d.name}));`,
    );
  }
  out.push('\treturn 0;', '}', '');
  return out.join('\n');
}

function parseOutput(stdout: string): Measurements {
  const structs = new Map<string, StructLayout>();
  const values = new Map<string, bigint>();
  for (const line of stdout.split('\n')) {
    const [tag, ...rest] = line.split(' ');
    if (tag === 'S') structs.set(rest[0], { size: Number(rest[1]), fields: new Map() });
    if (tag === 'F') {
      structs.get(rest[0])?.fields.set(rest[1], {
        offset: Number(rest[2]),
        ...(rest[3] !== undefined ? { size: Number(rest[3]) } : {}),
      });
    }
    if (tag === 'D') {
      const unsigned = BigInt(rest[2]);
      values.set(rest[0], rest[1] === '1' ? unsigned - 2n ** 64n : unsigned);
    }
  }
  return { structs, values };
}

export function probeHeader(
  headerPath: string,
  header: ParsedHeader,
  compiler = process.env.CC || 'cc',
): ProbeOutcome {
  const name = basename(headerPath);
  if (!/^[\w.+-]+$/.test(name)) {
    return {
      kind: 'failed',
      compiler,
      message: `cannot include a header named ${JSON.stringify(name)}; copy it to a name of letters, digits and . _ + -`,
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'viommu-drift-'));
  try {
    const source = join(dir, 'probe.c');
    const program = join(dir, 'probe');
    writeFileSync(source, probeSource(header, name));
    const build = spawnSync(
      compiler,
      ['-std=gnu11', '-w', '-iquote', dirname(resolve(headerPath)), '-o', program, source],
      {
        encoding: 'utf8',
      },
    );
    if (build.error) {
      const code = (build.error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') return { kind: 'no-compiler', compiler };
      return { kind: 'failed', compiler, message: build.error.message };
    }
    if (build.status !== 0) {
      return {
        kind: 'failed',
        compiler,
        message: `the ABI probe does not compile:\n${build.stderr.trim()}`,
      };
    }
    const run = spawnSync(program, [], { encoding: 'utf8' });
    if (run.status !== 0)
      return {
        kind: 'failed',
        compiler,
        message: `the ABI probe failed: ${run.stderr || run.error?.message}`,
      };
    return { kind: 'measured', compiler, measurements: parseOutput(run.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
