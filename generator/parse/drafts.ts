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
import { draftFeatureBit, statusFeature } from './rules/draft-status.js';

export interface DraftFile {
  file: VFile;
  name: string;
  title: string;
  feature: string;
  /** The status line. */
  source: { file: string; line: number; column: number };
}

/** What a file's status line makes it: part of the spec, a draft, or neither (reported). */
export type DraftStatus = { kind: 'spec' } | { kind: 'draft'; draft: DraftFile } | { kind: 'bad' };

const STATUS_LINE = /^Status:/;

/** `11-lazy-iotlb-flush.md` → `lazy-iotlb-flush`. */
function draftName(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.md$/, '').replace(/^\d+-/, '');
}

/**
 * The file's draft status. Only the first paragraph after the file's first heading counts; a
 * status line that is not well formed is reported on the file.
 */
export function readDraftStatus(file: VFile): DraftStatus {
  const lines = String(file.value).split('\n');
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i++;
  if (!lines[i]?.startsWith('#')) return { kind: 'spec' };
  const title = lines[i].replace(/^#+\s*/, '').trim();
  i++;
  while (i < lines.length && lines[i].trim() === '') i++;
  const line = lines[i] ?? '';
  if (!STATUS_LINE.test(line)) return { kind: 'spec' };
  const source = { file: file.path, line: i + 1, column: 1 };
  const name = draftName(file.path);
  const feature = statusFeature(file, line, source, name);
  return feature === undefined
    ? { kind: 'bad' }
    : { kind: 'draft', draft: { file, name, title, feature, source } };
}

/**
 * Marks what the draft files define with their draft's name and lists the drafts in the
 * model. The feature a draft names must be a feature bit of the model (the draft's own or the
 * spec's); otherwise the status line is reported.
 */
export function markDrafts(model: SpecModel, drafts: DraftFile[]): void {
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
    const bit = draftFeatureBit(d.file, d.feature, d.source, model.constants);
    if (!bit) continue;
    listed.push({
      name: d.name,
      title: d.title,
      feature: d.feature,
      featureBit: bit.value,
      source: d.source,
    });
  }
  model.drafts = listed;
}
