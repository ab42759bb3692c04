// A private copy of the built package in which one mutant at a time replaces a device-ref
// module, and the conformance suite runs against it. build/ is copied; every other top-level
// entry (dist/, schemas/, device-ref/boards/, node_modules/) is linked, read-only in use. A
// mutant is compiled alone with ts.transpileModule (no type check, milliseconds), so that no
// build runs per mutant.

import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import type { ConformanceReport } from '../../dist/ts/schemas/conformance-report.js';
import { draftsModel } from '../suite/draft-constants.js';
import { REF_BOARD } from '../targets/ref.js';
import type { SuiteRunResult } from './classify.js';

/** The --boards name of the suite's board with every draft offered, judged with --drafts. */
export const DRAFTS_BOARD = 'drafts';

/** REF_BOARD offering the drafts' features and running their device code. */
function draftsBoard(): object {
  return {
    ...REF_BOARD,
    name: `${REF_BOARD.name}-drafts`,
    description: `${REF_BOARD.description}, offering every draft`,
    iommu: { ...REF_BOARD.iommu, drafts: draftsModel().drafts.map((draft) => draft.name) },
  };
}

/** How long a run that outlived its limit gets to close its devices after SIGTERM. */
const STOP_GRACE_MS = 5000;
const STDERR_KEPT = 4096;

const SKIPPED = new Set(['build', 'reports', 'coverage', '.git', '.stryker-tmp']);

/** The JavaScript tsc gives for one TypeScript module of this package (ES modules). */
export function compileModule(source: string, file: string): string {
  return ts.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      esModuleInterop: true,
      sourceMap: false,
    },
  }).outputText;
}

/** The emitted JavaScript without its source map comment. */
function withoutSourceMap(js: string): string {
  return js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
}

export class Sandbox {
  readonly dir: string;
  /** The unmutated build output of each file a mutant touched, to put back. */
  readonly #originals = new Map<string, string>();
  #child: ReturnType<typeof spawn> | undefined;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(root: string): Promise<Sandbox> {
    const dir = await mkdtemp(join(tmpdir(), 'viommu-mutation-'));
    for (const entry of await readdir(root)) {
      if (!SKIPPED.has(entry)) await symlink(join(root, entry), join(dir, entry));
    }
    await cp(join(root, 'build'), join(dir, 'build'), { recursive: true });
    return new Sandbox(dir);
  }

  /** build/…/x.js for a source file `…/x.ts`. */
  #builtPath(file: string): string {
    return join(this.dir, 'build', file.replace(/\.ts$/, '.js'));
  }

  /**
   * Fails unless compiling `file` alone gives what the project's build gave: otherwise a
   * mutant would change more than its own span.
   */
  async checkCompilesAlike(file: string, source: string): Promise<void> {
    const built = withoutSourceMap(await readFile(this.#builtPath(file), 'utf8'));
    if (compileModule(source, file) !== built) {
      throw new Error(
        `${file}: compiled alone it differs from build/ (run npm run build:ts, or the module needs the whole program to compile)`,
      );
    }
  }

  /** Puts the mutated source of one file in place of its build output. */
  async apply(file: string, mutatedSource: string): Promise<void> {
    const path = this.#builtPath(file);
    if (!this.#originals.has(file)) this.#originals.set(file, await readFile(path, 'utf8'));
    await writeFile(path, compileModule(mutatedSource, file));
  }

  async restore(file: string): Promise<void> {
    const original = this.#originals.get(file);
    if (original !== undefined) await writeFile(this.#builtPath(file), original);
  }

  /**
   * conform's arguments for `board`: none for the suite's board; for DRAFTS_BOARD the suite's
   * board offering every draft (written into the sandbox, beside the reports' folder: conform
   * takes every JSON file in that one for a report) and `--drafts`; a preset with the `near`
   * judge window.
   */
  async #boardArguments(board: string | undefined): Promise<string[]> {
    if (board === undefined) return [];
    if (board !== DRAFTS_BOARD) return ['--board', board, '--judge-window', 'near'];
    const file = join(this.dir, 'drafts-board.json');
    await writeFile(file, JSON.stringify(draftsBoard()));
    return ['--board', file, '--drafts'];
  }

  /**
   * `viommu conform --target ref` from the sandbox, on the suite's board or on `board` (a
   * device-ref preset, judged with `--judge-window near`: the presets have 256 MiB of RAM,
   * which the whole-RAM judge would read back after every write; or DRAFTS_BOARD); stopped
   * after `timeoutMs`.
   */
  async runSuite(timeoutMs: number, board?: string): Promise<SuiteRunResult> {
    const reports = await mkdtemp(join(this.dir, 'reports-'));
    try {
      const cli = join(this.dir, 'build', 'cli', 'viommu.js');
      const onBoard = await this.#boardArguments(board);
      const child = spawn(
        process.execPath,
        [cli, 'conform', '--target', 'ref', ...onBoard, '--reports', reports],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      this.#child = child;
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEPT);
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM'); // conform closes its device-ref on SIGTERM
        setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS).unref();
      }, timeoutMs);
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      clearTimeout(timer);
      this.#child = undefined;
      let report: ConformanceReport | undefined;
      try {
        const [json] = (await readdir(reports)).filter((name) => name.endsWith('.json'));
        report = JSON.parse(await readFile(join(reports, json!), 'utf8')) as ConformanceReport;
      } catch {
        report = undefined;
      }
      return { code, timedOut, stderr, ...(report !== undefined && !timedOut && { report }) };
    } finally {
      await rm(reports, { recursive: true, force: true });
    }
  }

  /** Stops a suite run under way (SIGTERM: it closes its devices) and removes the sandbox. */
  async remove(): Promise<void> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('close', resolve));
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
