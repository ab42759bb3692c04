// The real spec model and the generated C view, built once for the tests that need them.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel } from '../build-model.js';
import { messagesOf } from '../messages.js';
import { readSpecSources } from '../spec-sources.js';
import type { SpecModel } from '../model.js';
import { packageRoot } from '../paths.js';

let cached: SpecModel | undefined;

/** The version `viommu gen` stamps on the model: the package's. */
export const version = (
  JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** The model of spec-src/, as `viommu gen` builds it, built afresh on every call. */
export function buildSpecModel(): SpecModel {
  const result = buildModel(readSpecSources(join(packageRoot, 'spec-src'), packageRoot), version);
  assert.deepEqual(messagesOf(result.files), []);
  assert.ok(result.model);
  return result.model;
}

/** The model of spec-src/ with its drafts, as `viommu gen --drafts` builds it. */
export function specModelWithDrafts(): SpecModel {
  const result = buildModel(readSpecSources(join(packageRoot, 'spec-src'), packageRoot), version, {
    drafts: true,
  });
  assert.deepEqual(messagesOf(result.files), []);
  assert.ok(result.model);
  return result.model;
}

/** The model of spec-src/, built once and shared: for tests that only read it. */
export function specModel(): SpecModel {
  cached ??= buildSpecModel();
  return cached;
}

/** The model of the small fixture spec. */
export function miniModel(): SpecModel {
  const dir = join(packageRoot, 'generator', 'test', 'fixtures', 'mini');
  const result = buildModel(readSpecSources(dir, packageRoot), version);
  assert.ok(result.model, JSON.stringify(messagesOf(result.files)));
  return result.model;
}
