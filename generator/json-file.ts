// Reads a JSON data file of the generator (a profile overlay, a drift allow-list) and checks
// it against its JSON Schema, so that a mistake in the file is a clear message, not a crash.

import { readFileSync } from 'node:fs';
import { describeErrors, fileValidator } from './schemas.js';

export function readJsonFile<T>(path: string, schemaPath: string, what: string): T {
  const validate = fileValidator(schemaPath);
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
