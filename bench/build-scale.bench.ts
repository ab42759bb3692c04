// `viommu build` on large specs: spec-src plus generated chapters (bench/big-spec.ts, seeded)
// up to 2 MB and 20 MB of Markdown, and 2 MB in one C block, beside a bare remark parse of the same files in the same
// process. The build has to stay linear in the size of its input: the target is at most 1.5×
// the bare parse at both sizes. Runs alternate (parse, build, parse, build…) so that both see
// the same machine; the ratio is of the medians, in wall time and in CPU time (the machine is
// shared, and CPU time is what load changes least).
// Run: npm run bench (or node --expose-gc build/bench/build-scale.bench.js).

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { buildModel } from '../generator/build-model.js';
import { messagesOf } from '../generator/messages.js';
import { modelOutputs } from '../generator/outputs.js';
import { packageRoot } from '../generator/paths.js';
import { readSpecSources } from '../generator/spec-sources.js';
import { writeBigSpec, writeOneBlockSpec } from './big-spec.js';

const specSrc = join(packageRoot, 'spec-src');
const SPECS = [
  { label: '2 MB', write: () => writeBigSpec(specSrc, 2_000_000), rounds: 3 },
  {
    label: '20 MB',
    write: () => writeBigSpec(specSrc, 20_000_000),
    rounds: Number(process.env.BENCH_ROUNDS_20MB ?? 1),
  },
  // Not a realistic spec, but the shape that was quadratic: one C block of 2 MB.
  { label: '2 MB, one C block', write: () => writeOneBlockSpec(specSrc, 2_000_000), rounds: 1 },
];

const markdown = unified().use(remarkParse).use(remarkGfm);

function bareParse(dir: string): void {
  for (const file of readSpecSources(dir, dir).files) markdown.runSync(markdown.parse(file), file);
}

function build(dir: string): void {
  const { model, files } = buildModel(readSpecSources(dir, dir), '0.0.0');
  if (!model)
    throw new Error(`the generated spec does not build: ${messagesOf(files)[0]?.message}`);
  modelOutputs(model);
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

function measure(run: () => void): Sample {
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = process.cpuUsage();
  const start = performance.now();
  run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// Warm the JIT on the real spec first, so that neither side pays for it in the first round.
bareParse(specSrc);
build(specSrc);

const rows = [];
for (const size of SPECS) {
  const dir = size.write();
  try {
    const bare: Sample[] = [];
    const built: Sample[] = [];
    for (let round = 0; round < size.rounds; round++) {
      bare.push(measure(() => bareParse(dir)));
      built.push(measure(() => build(dir)));
    }
    const wall = {
      bare: median(bare.map((s) => s.wallMs)),
      build: median(built.map((s) => s.wallMs)),
    };
    const cpu = {
      bare: median(bare.map((s) => s.cpuMs)),
      build: median(built.map((s) => s.cpuMs)),
    };
    rows.push({
      spec: size.label,
      rounds: size.rounds,
      'bare parse ms': wall.bare.toFixed(0),
      'build ms': wall.build.toFixed(0),
      'ratio (wall)': `${(wall.build / wall.bare).toFixed(2)}x`,
      'bare parse cpu ms': cpu.bare.toFixed(0),
      'build cpu ms': cpu.build.toFixed(0),
      'ratio (cpu)': `${(cpu.build / cpu.bare).toFixed(2)}x`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log('viommu build ÷ bare remark parse of the same generated spec (target ≤ 1.5x):');
console.table(rows);
