// A private TMPDIR for a mocha suite (this process and the children it starts), so that
// the temp folders other processes make meanwhile never count as the suite's own.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Sets TMPDIR to a fresh folder for the enclosing `describe`; returns a getter for its path. */
export function usePrivateTmpdir(prefix: string): () => string {
  let privateTmp = '';
  let savedTmp: string | undefined;
  before(async () => {
    privateTmp = await mkdtemp(join(tmpdir(), prefix));
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
  });
  after(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await rm(privateTmp, { recursive: true, force: true });
  });
  return () => privateTmp;
}
