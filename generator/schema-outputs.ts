// The files of dist/ts/ that come from schemas/, not from the spec: the types of the cases and
// of conformance reports, and the standalone validators. `gen` writes them beside
// distOutputs (outputs.ts), `check` compares them too. Apart from outputs.ts so that only
// those two commands load json-schema-to-typescript and ajv's code generation.

import { emitSchemaTypes } from './emit/schema-types.js';
import { emitSchemaValidators } from './emit/schema-validators.js';

export async function schemaOutputs(): Promise<Map<string, string>> {
  return new Map([...(await emitSchemaTypes()), ...emitSchemaValidators()]);
}
