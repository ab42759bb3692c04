// Reads a JSON data file of the generator (a profile overlay, a drift allow-list) and checks
// it against its JSON Schema, so that a mistake in the file is a clear message, not a crash.

import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { describeErrors } from './schemas.js';

const compiled = new Map<string, ValidateFunction>();

export function readJsonFile<T>(path: string, schemaPath: string, what: string): T {
  let validate = compiled.get(schemaPath);
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, strict: true });
    validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
    compiled.set(schemaPath, validate);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${what} ${path} cannot be read: ${(error as Error).message}`);
  }
  if (!validate(data)) {
    throw new Error(
      `${what} ${path} is not valid:\n  ${describeErrors(validate.errors).join('\n  ')}`,
    );
  }
  return data as T;
}
