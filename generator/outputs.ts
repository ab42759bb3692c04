// Every file of dist/ as a pure function of the model. `viommu build`, `gen` and `check`
// all go through here, so what is checked is exactly what is written.

import type { SpecModel } from './model.js';
import { casesOf } from './build-model.js';

/** Stable JSON: two runs give byte-identical files. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function modelOutputs(model: SpecModel): Map<string, string> {
  return new Map([
    ['dist/spec.json', toJson(model)],
    ['dist/cases.json', toJson(casesOf(model))],
  ]);
}
