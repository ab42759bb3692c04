// The generator's one ajv set-up: every JSON Schema of schemas/ loaded into one instance with
// one set of options. It validates the model as it is built and the generator's own data files
// (a profile overlay, the drift allow-list), each schema compiled once per process; and a
// fresh one compiles the standalone validators of dist/ts/ (emit/schema-validators.ts), so
// device-ref, conformance and driver-check never build an ajv.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { packageRoot } from './paths.js';

/** The files of schemas/, in the order they may refer to each other. */
export const SCHEMAS = [
  'scenario-step.schema.json',
  'spec-model.schema.json',
  'cases.schema.json',
  'conformance-report.schema.json',
  'board.schema.json',
  'driver-event-log.schema.json',
] as const;

export type SchemaName = (typeof SCHEMAS)[number];

/**
 * A new ajv holding every schema of schemas/. With `standalone`, it keeps each validator's
 * source as an ES module; ajv numbers the functions it writes in the order it compiles them,
 * so standalone code comes from a fresh instance, compiled in one fixed order.
 */
export function loadSchemas(standalone = false): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
    ...(standalone && { code: { source: true, esm: true, lines: true } }),
  });
  const dir = join(packageRoot, 'schemas');
  for (const name of SCHEMAS) {
    ajv.addSchema(JSON.parse(readFileSync(join(dir, name), 'utf8')) as object, name);
  }
  return ajv;
}

let ajv: Ajv | undefined;

/** The generator's validating instance, made once per process. */
function schemaAjv(): Ajv {
  ajv ??= loadSchemas();
  return ajv;
}

/** The validator for `schemas/NAME` (e.g. `spec-model.schema.json`). */
export function validator(name: SchemaName): ValidateFunction {
  const v = schemaAjv().getSchema(name);
  if (!v) throw new Error(`No schema ${name} in schemas/`);
  return v;
}

/** The validator for a schema file outside schemas/ (a generator data file's), compiled once. */
export function fileValidator(schemaPath: string): ValidateFunction {
  const ajv = schemaAjv();
  const known = ajv.getSchema(schemaPath);
  if (known) return known;
  ajv.addSchema(JSON.parse(readFileSync(schemaPath, 'utf8')) as object, schemaPath);
  return ajv.getSchema(schemaPath)!;
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}
