// Reads the files of a spec folder. Whatever the file system says no to (a folder that does
// not exist, a link that loops, a folder named like a Markdown file, a file nobody may read)
// becomes an error on that path (a vfile message about the whole file), never an exception: `viommu build --spec` takes any
// folder a user points it at.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { VFile } from 'vfile';
import { specError } from './messages.js';

export interface SpecSources {
  files: VFile[];
  retiredIds?: VFile;
  /** What kept a file or the folder from being read, as messages; the build stops on any of them. */
  problems: VFile[];
}

/** Markdown files of spec-src that are about the spec, not part of it. */
const NOT_SPEC = /^(readme|changelog)\.md$/i;
export const RETIRED_IDS_FILE = 'retired-ids.txt';

/** Why the file system refused `path`, in the reader's words, with what to do. */
function describe(error: NodeJS.ErrnoException, kind: 'folder' | 'file'): string {
  switch (error.code) {
    case 'ENOENT':
      return kind === 'folder'
        ? 'The spec folder does not exist; give --spec a folder of Markdown files'
        : 'The file is a symbolic link to nothing (its target does not exist); fix or remove the link';
    case 'ENOTDIR':
      return 'This is a file, not a folder; give --spec the folder that holds the Markdown files';
    case 'EISDIR':
      return 'This is a folder, not a file; rename it or move it out of the spec folder';
    case 'ELOOP':
      return 'The file is a loop of symbolic links that never reaches a file; fix or remove the link';
    case 'EACCES':
    case 'EPERM':
      return `The ${kind} cannot be read: permission denied`;
    default:
      return `The ${kind} cannot be read: ${error.code ?? 'error'} (${error.message})`;
  }
}

function problem(path: string, error: unknown, kind: 'folder' | 'file'): VFile {
  const file = new VFile({ path });
  specError(file, describe(error as NodeJS.ErrnoException, kind), undefined, 'file-system');
  return file;
}

/**
 * The Markdown files of `specDir` in name order (README.md and CHANGELOG.md aside) and
 * retired-ids.txt when there is one; paths are relative to `baseDir`.
 */
export function readSpecSources(specDir: string, baseDir: string): SpecSources {
  const shown = (name?: string) =>
    relative(baseDir, name === undefined ? specDir : join(specDir, name)) || name || '.';
  let names: string[];
  try {
    names = readdirSync(specDir);
  } catch (error) {
    return { files: [], problems: [problem(shown(), error, 'folder')] };
  }
  const problems: VFile[] = [];
  const read = (name: string): VFile | undefined => {
    try {
      return new VFile({ path: shown(name), value: readFileSync(join(specDir, name), 'utf8') });
    } catch (error) {
      problems.push(problem(shown(name), error, 'file'));
      return undefined;
    }
  };
  const files = names
    .filter((n) => n.endsWith('.md') && !NOT_SPEC.test(n))
    .sort()
    .map(read)
    .filter((f): f is VFile => f !== undefined);
  const retiredIds = names.includes(RETIRED_IDS_FILE) ? read(RETIRED_IDS_FILE) : undefined;
  return { files, ...(retiredIds && { retiredIds }), problems };
}
