// Loads the draft-07 JSON Schemas of schemas/ that the generator and the reports use into one
// ajv instance, compiled once per process. (The board schema is device-ref's own.)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { packageRoot } from './paths.js';

const SCHEMAS = [
  'scenario-step.schema.json',
  'spec-model.schema.json',
  'cases.schema.json',
  'conformance-report.schema.json',
] as const;

let ajv: Ajv | undefined;

function instance(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    const dir = join(packageRoot, 'schemas');
    for (const name of SCHEMAS) {
      ajv.addSchema(JSON.parse(readFileSync(join(dir, name), 'utf8')) as object, name);
    }
  }
  return ajv;
}

/** The validator for `schemas/NAME` (e.g. `spec-model.schema.json`). */
export function validator(name: (typeof SCHEMAS)[number]): ValidateFunction {
  const v = instance().getSchema(name);
  if (!v) throw new Error(`No schema ${name} in schemas/`);
  return v;
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/** Throws with every schema error when `data` does not validate. */
export function assertValid(name: (typeof SCHEMAS)[number], data: unknown, what: string): void {
  const validate = validator(name);
  if (!validate(data)) {
    throw new Error(
      `${what} does not match schemas/${name}:\n  ${describeErrors(validate.errors).join('\n  ')}`,
    );
  }
}
