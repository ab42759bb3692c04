// Drafts: proposed extensions that live in spec-src/ as files of their own, each with a status
// line as its first paragraph after the heading:
//
//   Status: draft (needs `VIRTIO_IOMMU_F_LAZY_IOTLB_FLUSH`)
//
// Without `--drafts` such a file is not read at all, so the spec and dist/ are as if it did
// not exist. With `--drafts` it is read like any other file, and every statement, struct and
// constant it defines is marked with the draft's name. Deleting the status line promotes the
// draft: the file is then part of the spec.

import type { VFile } from 'vfile';
import type { Draft, SpecModel } from '../model.js';
import { FEATURE_GROUP } from '../model-facts.js';
import type { Diagnostic } from './collect.js';

export interface DraftFile {
  file: VFile;
  name: string;
  title: string;
  feature: string;
  /** The status line. */
  source: { file: string; line: number; column: number };
}

const STATUS_LINE = /^Status:/;
const DRAFT_STATUS = /^Status: draft \(needs `(VIRTIO_IOMMU_F_[A-Z0-9_]+)`\)\s*$/;
const DRAFT_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** `11-lazy-iotlb-flush.md` → `lazy-iotlb-flush`. */
function draftName(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.md$/, '').replace(/^\d+-/, '');
}

/**
 * The file's draft status: a draft, not a draft (undefined), or a status line that is not
 * well formed (a diagnostic). Only the first paragraph after the file's first heading counts.
 */
export function readDraftStatus(file: VFile): DraftFile | Diagnostic | undefined {
  const lines = String(file.value).split('\n');
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i++;
  if (!lines[i]?.startsWith('#')) return undefined;
  const title = lines[i].replace(/^#+\s*/, '').trim();
  i++;
  while (i < lines.length && lines[i].trim() === '') i++;
  const line = lines[i] ?? '';
  if (!STATUS_LINE.test(line)) return undefined;
  const source = { file: file.path, line: i + 1, column: 1 };
  const m = DRAFT_STATUS.exec(line);
  const name = draftName(file.path);
  if (!m) {
    return {
      message:
        'A status line reads `Status: draft (needs `VIRTIO_IOMMU_F_NAME`)`, naming the feature a device offers when it implements the draft; delete the line to make the file part of the spec',
      source,
      rule: 'draft-status',
    };
  }
  if (!DRAFT_NAME.test(name)) {
    return {
      message: `A draft's file name gives its name: \`${name}\` is not lower-case words joined by \`-\` (after the number)`,
      source,
      rule: 'draft-status',
    };
  }
  return { file, name, title, feature: m[1], source };
}

export function isDraftFile(x: DraftFile | Diagnostic | undefined): x is DraftFile {
  return x !== undefined && 'feature' in x;
}

/**
 * Marks what the draft files define with their draft's name and lists the drafts in the
 * model. The feature a draft names must be a feature bit of the model (the draft's own or the
 * spec's); otherwise a diagnostic at the status line.
 */
export function markDrafts(model: SpecModel, drafts: DraftFile[]): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const byFile = new Map(drafts.map((d) => [d.file.path, d.name]));
  const mark = (item: { source: { file: string }; draft?: string }) => {
    const name = byFile.get(item.source.file);
    if (name !== undefined) item.draft = name;
  };
  model.statements.forEach(mark);
  model.structs.forEach(mark);
  model.constants.forEach(mark);
  const listed: Draft[] = [];
  for (const d of drafts) {
    const feature = model.constants.find((c) => c.name === d.feature && c.group === FEATURE_GROUP);
    if (!feature) {
      diagnostics.push({
        message: `\`${d.feature}\` is not a feature bit of the spec or of the draft; a draft needs a feature that tells where it applies`,
        source: { ...d.source, column: 'Status: draft (needs `'.length + 1 },
        rule: 'draft-status',
      });
      continue;
    }
    listed.push({
      name: d.name,
      title: d.title,
      feature: d.feature,
      featureBit: feature.value,
      source: d.source,
    });
  }
  model.drafts = listed;
  return diagnostics;
}
