// `draft-status`: a draft's status line reads `Status: draft (needs `VIRTIO_IOMMU_F_NAME`)`, its
// file name gives its name in lower-case words, and the feature it names is a feature bit of
// the model, which tells where the draft's statements apply.

import type { Point } from 'unist';
import type { VFile } from 'vfile';
import { FEATURE_GROUP } from '../../model-facts.js';
import { specError } from '../../messages.js';
import type { Constant } from '../../model.js';

const RULE = 'draft-status';
const DRAFT_STATUS = /^Status: draft \(needs `(VIRTIO_IOMMU_F_[A-Z0-9_]+)`\)\s*$/;
const DRAFT_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** The feature a well-formed status line names, with a well-formed draft name; else reported. */
export function statusFeature(
  file: VFile,
  line: string,
  at: Point,
  name: string,
): string | undefined {
  const m = DRAFT_STATUS.exec(line);
  if (!m) {
    specError(
      file,
      'A status line reads `Status: draft (needs `VIRTIO_IOMMU_F_NAME`)`, naming the feature a device offers when it implements the draft; delete the line to make the file part of the spec',
      at,
      RULE,
    );
    return undefined;
  }
  if (!DRAFT_NAME.test(name)) {
    specError(
      file,
      `A draft's file name gives its name: \`${name}\` is not lower-case words joined by \`-\` (after the number)`,
      at,
      RULE,
    );
    return undefined;
  }
  return m[1];
}

/** The feature bit `feature` names among `constants`; undefined, and reported, when none. */
export function draftFeatureBit(
  file: VFile,
  feature: string,
  statusLine: Point,
  constants: readonly Constant[],
): Constant | undefined {
  const bit = constants.find((c) => c.name === feature && c.group === FEATURE_GROUP);
  if (bit) return bit;
  specError(
    file,
    `\`${feature}\` is not a feature bit of the spec or of the draft; a draft needs a feature that tells where it applies`,
    { line: statusLine.line, column: 'Status: draft (needs `'.length + 1 },
    RULE,
  );
  return undefined;
}
