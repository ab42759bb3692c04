// Statement IDs are never lost. The last model the build wrote (dist/spec.json, committed with
// the spec) holds every statement with the place it came from; a build whose model lacks one
// of them, without the ID being retired, fails and says where the statement was last seen.

import { readFileSync } from 'node:fs';
import { VFile } from 'vfile';
import { FilesByPath, specError } from './messages.js';
import type { SourcePlace, SpecModel } from './model.js';

/** What the check needs of a model written by an earlier build, whatever its schema version. */
export interface RecordedStatements {
  /** Where they were read from, for messages: `dist/spec.json`. */
  recordedIn: string;
  statements: { id: string; source: SourcePlace }[];
}

/**
 * The statements recorded in the model file at `path` (shown as `shownAs`). Undefined when
 * there is no such file (the first build into a folder); the file with an error when it cannot
 * be read.
 */
export function readRecordedStatements(
  path: string,
  shownAs: string,
): RecordedStatements | VFile | undefined {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const why = error instanceof SyntaxError ? 'it is not JSON' : (error as Error).message;
    return unreadable(shownAs, why);
  }
  const statements = (data as { statements?: unknown } | null)?.statements;
  const valid =
    Array.isArray(statements) &&
    statements.every(
      (s: { id?: unknown; source?: { file?: unknown; line?: unknown; column?: unknown } }) =>
        typeof s?.id === 'string' &&
        typeof s.source?.file === 'string' &&
        typeof s.source.line === 'number' &&
        typeof s.source.column === 'number',
    );
  if (!valid) return unreadable(shownAs, 'it holds no list of statements with their places');
  return { recordedIn: shownAs, statements: statements as RecordedStatements['statements'] };
}

function unreadable(shownAs: string, why: string): VFile {
  const file = new VFile({ path: shownAs });
  specError(
    file,
    `The last model cannot be read (${why}), so the build cannot tell whether a statement was lost; restore the file (git checkout ${shownAs}) and build again`,
    undefined,
    'lost-id',
  );
  return file;
}

/**
 * An error for each statement of `recorded` that `model` has lost without retiring its ID, at
 * the place it was last seen; the files returned carry them. `retiredFile` names the file that
 * retires IDs.
 */
export function vanishedStatements(
  recorded: RecordedStatements,
  model: SpecModel,
  retiredFile: string,
): VFile[] {
  const present = new Set(model.statements.map((s) => s.id));
  const retired = new Set(model.retiredIds);
  const lost = new FilesByPath();
  for (const s of recorded.statements) {
    if (present.has(s.id) || retired.has(s.id)) continue;
    lost.error(
      `Statement \`${s.id}\` is gone: it was last seen here (${s.source.file}:${s.source.line}, as ${recorded.recordedIn} records it). Statement IDs are never lost: put the statement back, or retire its ID by adding it to ${retiredFile}`,
      s.source,
      'lost-id',
    );
  }
  return lost.files;
}
