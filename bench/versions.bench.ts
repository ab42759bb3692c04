// Every version of the spec built together (the current spec and each historic version
// resolved along its chain, with their dist/ outputs), beside the current spec alone in the
// same run: what the history costs on top of the build everyone runs; and the spec with its
// drafts.
// Run: npm run bench (or node build/bench/versions.bench.js).

import { join } from 'node:path';
import { Bench } from 'tinybench';
import { buildModel } from '../generator/build-model.js';
import { messagesOf } from '../generator/messages.js';
import { distOutputs, draftOutputs } from '../generator/outputs.js';
import { packageRoot } from '../generator/paths.js';
import { readSpecSources } from '../generator/spec-sources.js';
import { allVersions } from '../generator/versions/resolve.js';

const specDir = join(packageRoot, 'spec-src');
const time = Number(process.env.BENCH_TIME_MS ?? 2000);

function current() {
  const { model } = buildModel(readSpecSources(specDir, packageRoot), '0.0.0');
  if (!model) throw new Error('spec-src does not build; run viommu build to see why');
  distOutputs(model);
  return model;
}

function withDrafts(): void {
  const { model } = buildModel(readSpecSources(specDir, packageRoot), '0.0.0', { drafts: true });
  if (!model) throw new Error('spec-src with its drafts does not build; run viommu build --drafts');
  draftOutputs(model);
}

function everyVersion(): number {
  const { versions, files } = allVersions(specDir, packageRoot, '0.0.0', current());
  const errors = messagesOf(files);
  if (errors.length) throw new Error(`a version does not resolve: ${errors[0].message}`);
  for (const v of versions.slice(0, -1)) distOutputs(v.model);
  return versions.length;
}

const cold = performance.now();
const count = everyVersion();
const coldMs = performance.now() - cold;

const bench = new Bench({ time });
bench
  .add('baseline: the current spec (model + dist/)', current)
  .add(`all ${count} versions (models + dist/ of each)`, everyVersion)
  .add('the current spec with its drafts (model + dist/drafts/)', withDrafts);
await bench.run();

const [baseline, all, drafts] = bench.tasks.map((t) => t.result!.latency.mean);
console.log(`first run in this process (schemas compiled, JIT cold): ${coldMs.toFixed(0)} ms`);
console.table(
  bench.tasks.map((t) => ({
    task: t.name,
    'mean ms': t.result!.latency.mean.toFixed(2),
    'runs/s': t.result!.throughput.mean.toFixed(1),
  })),
);
console.log(`all versions ÷ current alone: ${(all / baseline).toFixed(2)}x the time`);
console.log(`with drafts ÷ current alone: ${(drafts / baseline).toFixed(2)}x the time`);
