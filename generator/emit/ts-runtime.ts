// dist/ts/runtime.ts: the helpers the generated codecs share, copied from their source
// (emit/runtime/runtime.ts, type-checked with the generator) under the banner. Only the
// banner depends on the model.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpecModel } from '../model.js';
import { packageRoot } from '../paths.js';
import { banner } from './codegen.js';

export const TS_RUNTIME_PATH = 'dist/ts/runtime.ts';

/** The runtime's source, as committed: the TypeScript file, not what tsc makes of it. */
export const TS_RUNTIME_SOURCE = join(packageRoot, 'generator', 'emit', 'runtime', 'runtime.ts');

export function emitTsRuntime(model: SpecModel): string {
  return `${banner(model).toString()}\n${readFileSync(TS_RUNTIME_SOURCE, 'utf8')}`;
}
