// `viommu build` on the whole spec, in process: reading + parsing spec-src into the validated
// model and serialising dist/spec.json and dist/cases.json, beside a baseline measured in the
// same run: remark parsing the same Markdown and nothing else. The ratio is what the model
// (layout, names, scenarios, schema validation) costs on top of reading the Markdown at all.
// Run: npm run bench (or node build/bench/build.bench.js).

import { join } from 'node:path';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { Bench } from 'tinybench';
import { unified } from 'unified';
import { buildModel } from '../generator/build-model.js';
import { readSpecSources } from '../generator/spec-sources.js';
import { modelOutputs } from '../generator/outputs.js';
import { packageRoot } from '../generator/paths.js';

const specDir = join(packageRoot, 'spec-src');
const time = Number(process.env.BENCH_TIME_MS ?? 2000);

// The first build pays for compiling the schemas and warming the JIT; a CLI run pays it too.
const cold = performance.now();
const first = buildModel(readSpecSources(specDir, packageRoot), '0.0.0');
if (!first.model) throw new Error('spec-src does not build; run viommu build to see why');
modelOutputs(first.model);
const coldMs = performance.now() - cold;

const markdown = unified().use(remarkParse).use(remarkGfm);
const bench = new Bench({ time });
bench
  .add('baseline: remark parse of spec-src', () => {
    for (const file of readSpecSources(specDir, packageRoot).files)
      markdown.runSync(markdown.parse(file), file);
  })
  .add('viommu build: model + dist/spec.json + dist/cases.json', () => {
    const { model } = buildModel(readSpecSources(specDir, packageRoot), '0.0.0');
    modelOutputs(model!);
  });
await bench.run();

const [baseline, build] = bench.tasks.map((t) => t.result!.latency.mean);
console.log(`first build in this process (schemas compiled, JIT cold): ${coldMs.toFixed(0)} ms`);
console.table(
  bench.tasks.map((t) => ({
    task: t.name,
    'mean ms': t.result!.latency.mean.toFixed(2),
    'runs/s': t.result!.throughput.mean.toFixed(1),
  })),
);
console.log(`build ÷ bare Markdown parse: ${(build / baseline).toFixed(2)}x the time`);
