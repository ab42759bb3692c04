// `model`: what the spec as a whole must hold: a `#` title, the device ID, the configuration
// struct, and a structure for every request type. These have no one place, so they are
// reported at the start of the first file; a request type at its constant.

import type { VFile } from 'vfile';
import { CONFIG_STRUCT, REQUEST_TYPE_GROUP, requestStructName } from '../../model-facts.js';
import { specError, type FilesByPath } from '../../messages.js';
import type { Constant } from '../../model.js';
import type { Collected } from '../collect.js';
import type { ModelIndex } from '../model-index.js';

const RULE = 'model';
const START = { line: 1, column: 1 };

/** `layoutFailed`: some struct could not be laid out (the missing one may be among them). */
export function checkConfigStruct(index: ModelIndex, layoutFailed: boolean, first: VFile): void {
  if (index.structs.has(CONFIG_STRUCT) || layoutFailed) return;
  specError(first, `The spec defines no \`struct ${CONFIG_STRUCT}\``, START, RULE);
}

export function checkRequestStructs(
  constants: readonly Constant[],
  index: ModelIndex,
  failed: ReadonlySet<string>,
  files: FilesByPath,
): void {
  for (const c of constants) {
    const structName = requestStructName(c.name);
    if (c.group !== REQUEST_TYPE_GROUP || !structName) continue;
    if (index.structs.has(structName) || failed.has(structName)) continue;
    files.error(`Request type \`${c.name}\` has no structure \`${structName}\``, c.source, RULE);
  }
}

/** The spec's title and device ID; undefined when either is missing (reported). */
export function titleAndDeviceId(
  collected: Collected,
  first: VFile,
): { title: string; deviceId: number } | undefined {
  const { title, deviceId } = collected;
  if (!deviceId)
    specError(
      first,
      'The section "Device ID" must hold the device ID as a paragraph of its own',
      START,
      RULE,
    );
  if (!title) specError(first, 'The first file must start with a `#` title', START, RULE);
  return deviceId && title ? { title, deviceId: deviceId.value } : undefined;
}
