// Loads the JSON Schemas of schemas/ into one ajv instance, compiled once per process.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { packageRoot } from './paths.js';

let ajv: Ajv | undefined;

function instance(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    const dir = join(packageRoot, 'schemas');
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.schema.json')).sort()) {
      ajv.addSchema(JSON.parse(readFileSync(join(dir, name), 'utf8')) as object, name);
    }
  }
  return ajv;
}

/** The validator for `schemas/NAME` (e.g. `spec-model.schema.json`). */
export function validator(name: string): ValidateFunction {
  const v = instance().getSchema(name);
  if (!v) throw new Error(`No schema ${name} in schemas/`);
  return v;
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/** Throws with every schema error when `data` does not validate. */
export function assertValid(name: string, data: unknown, what: string): void {
  const validate = validator(name);
  if (!validate(data)) {
    throw new Error(`${what} does not match schemas/${name}:\n  ${describeErrors(validate.errors).join('\n  ')}`);
  }
}
