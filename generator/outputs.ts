// Every file of dist/ as a pure function of the model. `viommu build`, `gen` and `check`
// all go through here, so what is checked is exactly what is written.

import type { SpecModel } from './model.js';
import { casesOf } from './build-model.js';
import { cView } from './emit/c-view.js';
import { emitLayoutTest, LAYOUT_TEST_PATH } from './emit/layout-test.js';
import { emitTsCodecs, TS_CODECS_PATH } from './emit/ts-codecs.js';
import { emitTsConstants, TS_CONSTANTS_PATH } from './emit/ts-constants.js';
import { emitTsFieldLayouts, TS_FIELD_LAYOUTS_PATH } from './emit/ts-field-layouts.js';
import { emitTsIndex, TS_INDEX_PATH } from './emit/ts-index.js';
import { emitTsLayout, TS_LAYOUT_PATH } from './emit/ts-layout.js';
import { emitTsNames, TS_NAMES_PATH } from './emit/ts-names.js';
import { emitTsRequests, TS_REQUESTS_PATH } from './emit/ts-requests.js';
import { emitTsRuntime, TS_RUNTIME_PATH } from './emit/ts-runtime.js';
import { emitTsTypes, TS_TYPES_PATH } from './emit/ts-types.js';
import { emitTsVirtioPci, TS_VIRTIO_PCI_PATH } from './emit/ts-virtio-pci.js';
import { DRAFTS_MACRO, emitUapiHeader, UAPI_HEADER_PATH } from './emit/uapi-header.js';
import { applyProfile, loadProfile } from './profiles/profile.js';

/** Stable JSON: two runs give byte-identical files. */
function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The model files: what `viommu build` writes. */
export function modelOutputs(model: SpecModel): Map<string, string> {
  return new Map([
    ['dist/spec.json', toJson(model)],
    ['dist/cases.json', toJson(casesOf(model))],
  ]);
}

/** All of dist/: the model files and the code generated from them. `gen` writes it, `check` compares it. */
export function distOutputs(model: SpecModel): Map<string, string> {
  const view = cView(model);
  return new Map([
    ...modelOutputs(model),
    [UAPI_HEADER_PATH, emitUapiHeader(model, view)],
    [LAYOUT_TEST_PATH, emitLayoutTest(model, view)],
    [TS_CONSTANTS_PATH, emitTsConstants(model)],
    [TS_LAYOUT_PATH, emitTsLayout(model)],
    [TS_FIELD_LAYOUTS_PATH, emitTsFieldLayouts(model)],
    [TS_NAMES_PATH, emitTsNames(model)],
    [TS_TYPES_PATH, emitTsTypes(model)],
    [TS_RUNTIME_PATH, emitTsRuntime(model)],
    [TS_CODECS_PATH, emitTsCodecs(model)],
    [TS_REQUESTS_PATH, emitTsRequests(model)],
    [TS_VIRTIO_PCI_PATH, emitTsVirtioPci(model)],
    [TS_INDEX_PATH, emitTsIndex(model)],
  ]);
}

/** The UAPI header of a profile (generator/profiles/NAME.json): the spec plus that consumer's names. */
export function profileHeader(model: SpecModel, name: string): string {
  const profile = loadProfile(name);
  return emitUapiHeader(model, applyProfile(cView(model), profile), [
    `Profile ${profile.name}: ${profile.description}`,
    `Names outside the spec say so; generator/profiles/${profile.name}.json gives the reason for each.`,
  ]);
}

/** Where the outputs of the spec with its drafts go: apart from dist/'s current spec. */
export const DRAFTS_DIST = 'dist/drafts';

/**
 * The outputs of a model built with drafts (`viommu gen --drafts`), under dist/drafts/: the
 * model files, the header (each draft's definitions guarded by VIRTIO_IOMMU_DRAFTS) and its
 * layout test. No TypeScript: nothing runs a draft's codecs yet.
 */
export function draftOutputs(model: SpecModel): Map<string, string> {
  const view = cView(model);
  const names = (model.drafts ?? []).map((d) => d.name).join(', ');
  const files = new Map([
    ...modelOutputs(model),
    [
      UAPI_HEADER_PATH,
      emitUapiHeader(model, view, [
        `With the drafts ${names}: their definitions are seen only with -D${DRAFTS_MACRO}.`,
      ]),
    ],
    [LAYOUT_TEST_PATH, emitLayoutTest(model, view)],
  ]);
  return inDraftsDist(files);
}

/** The same files under dist/drafts/ instead of dist/. */
export function inDraftsDist(files: Map<string, string>): Map<string, string> {
  return new Map(
    [...files].map(([path, text]) => [path.replace(/^dist\//, `${DRAFTS_DIST}/`), text]),
  );
}
