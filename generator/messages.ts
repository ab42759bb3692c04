// Errors of a spec are vfile messages, the unified way: each sits on the file it is about, at a
// line and column (or on the whole file when it cannot be read), with its rule ID and the
// source `viommu`. The CLI hands the files to vfile-reporter as they are.

import type { Node, Point } from 'unist';
import { VFile } from 'vfile';
import type { SourcePlace } from './model.js';

export const MESSAGE_SOURCE = 'viommu';

export type VFileMessage = VFile['messages'][number];

/**
 * Reports an error on `file` at a node (its start: messages name file:line:col) or a point;
 * with neither, the error is about the whole file. Any error stops the build.
 */
export function specError(
  file: VFile,
  reason: string,
  at: Node | Point | undefined,
  ruleId: string,
): VFileMessage {
  const place = at && 'type' in at ? at.position?.start : at;
  const message = file.message(reason, {
    ...(place && { place: { line: place.line, column: place.column } }),
    ruleId,
    source: MESSAGE_SOURCE,
  });
  message.fatal = true;
  return message;
}

/** The messages on `files`, by file path, then line and column, as vfile-reporter lists them. */
export function messagesOf(files: readonly VFile[]): VFileMessage[] {
  return files
    .flatMap((f) => f.messages)
    .sort(
      (a, b) =>
        (a.file ?? '').localeCompare(b.file ?? '') ||
        (a.line ?? 0) - (b.line ?? 0) ||
        (a.column ?? 0) - (b.column ?? 0),
    );
}

export function hasErrors(files: readonly VFile[]): boolean {
  return files.some((f) => f.messages.length > 0);
}

/**
 * Files by path, for errors whose place is a SourcePlace of the model rather than a node: the
 * file read under that path when there is one, else a file of that name with no text (a
 * statement last seen in a file that is gone, a model file that cannot be read).
 */
export class FilesByPath {
  readonly #files = new Map<string, VFile>();

  constructor(files: Iterable<VFile> = []) {
    for (const f of files) this.#files.set(f.path, f);
  }

  /** Takes `file` as the file of its path. */
  add(file: VFile): void {
    this.#files.set(file.path, file);
  }

  file(path: string): VFile {
    let file = this.#files.get(path);
    if (!file) {
      file = new VFile({ path });
      this.#files.set(path, file);
    }
    return file;
  }

  /** Reports an error at `place`; `whole`: about the file as a whole (no line or column). */
  error(reason: string, place: SourcePlace, ruleId: string, whole = false): VFileMessage {
    return specError(this.file(place.file), reason, whole ? undefined : place, ruleId);
  }

  get files(): VFile[] {
    return [...this.#files.values()];
  }
}
