// The model of any version of the spec, as `viommu build --version NAME` makes it, for tests.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { messagesOf } from '../messages.js';
import type { SpecModel } from '../model.js';
import { packageRoot } from '../paths.js';
import { CURRENT, resolveVersion } from '../versions/resolve.js';
import { specModel, version } from './spec-model.js';

const SPEC = join(packageRoot, 'spec-src');

/** A version's model, as `viommu build --version NAME` makes it. */
export function versionModel(name: string): SpecModel {
  if (name === CURRENT) return specModel();
  const result = resolveVersion(SPEC, name, packageRoot, version, specModel());
  assert.deepEqual(messagesOf(result.files), [], `${name} resolves without errors`);
  assert.ok(result.model);
  return result.model;
}
