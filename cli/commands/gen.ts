// `viommu gen`: spec-src → all of dist/ (model, UAPI header, layout test, TypeScript codecs),
// all or nothing. With --profile, prints (or writes to -o) that profile's header instead.

import { distOutputs, draftOutputs, profileHeader } from '../../generator/outputs.js';
import { schemaOutputs } from '../../generator/schema-outputs.js';
import { packageRoot } from '../../generator/paths.js';
import { printable } from '../../conformance/report/printable.js';
import { summarize } from '../../generator/summary.js';
import { writeFilesAtomically } from '../write-files.js';
import { draftsMisuse, isHistoric, loadModel, type SpecOptions } from './build.js';

export interface GenOptions extends SpecOptions {
  profile?: string;
  output?: string;
}

export async function runGen(options: GenOptions): Promise<number> {
  const misuse = draftsMisuse('gen', options);
  if (misuse) {
    process.stderr.write(misuse);
    return 2;
  }
  if (isHistoric(options) && !options.out && !options.profile) {
    process.stderr.write(
      `viommu gen: --version ${options.version} needs --out DIR: dist/ holds the current spec only\n`,
    );
    return 2;
  }
  const { model } = loadModel(options, options.out ?? packageRoot);
  if (!model) return 1;
  if (options.profile) {
    let header: string;
    try {
      header = profileHeader(model, options.profile);
    } catch (error) {
      process.stderr.write(`viommu gen: ${printable((error as Error).message)}\n`);
      return 2;
    }
    if (options.output) {
      writeFilesAtomically('', new Map([[options.output, header]]));
      process.stderr.write(
        `wrote ${printable(`${options.output} (profile ${options.profile})`)}\n`,
      );
    } else {
      process.stdout.write(header);
    }
    return 0;
  }
  // dist/drafts/ exists only while the spec has drafts: `check` expects it then, and only then.
  if (options.drafts && !model.drafts?.length) {
    process.stdout.write(
      'The spec has no drafts (no file with a `Status: draft` line); nothing written\n',
    );
    return 0;
  }
  const files = options.drafts
    ? draftOutputs(model)
    : new Map([...distOutputs(model), ...(await schemaOutputs())]);
  writeFilesAtomically(options.out ?? packageRoot, files);
  process.stdout.write(
    `${printable(summarize(model), true)}\n  wrote ${files.size} files: ${[...files.keys()].join(', ')}\n`,
  );
  return 0;
}
