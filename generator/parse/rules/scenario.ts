// `scenario`: every line of a ```scenario block is a step the runner can execute, with every
// name resolved against the model (scenario.ts); what is not is reported at its place.

import type { Code } from 'mdast';
import type { VFile } from 'vfile';
import { specError } from '../../messages.js';
import { codePlace } from '../markdown-walk.js';
import type { ScenarioError } from '../scenario.js';

export function reportScenarioErrors(
  file: VFile,
  block: Code,
  errors: readonly ScenarioError[],
): void {
  for (const e of errors)
    specError(file, e.message, codePlace(file, block, e.line, e.column), 'scenario');
}
