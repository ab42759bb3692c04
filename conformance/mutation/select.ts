// Which mutants a run plants: the device-ref sources the globs name, those of code the device
// never runs, and the mutants at the places --mutant names.

import { readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import picomatch from 'picomatch';
import type { Mutant } from './operators.js';

/**
 * Sources under device-ref/ that `viommu device` never runs, so no device conformance
 * suite could see their mutants: they are equivalent by where they are (they stay in the
 * population, so that a seeded sample stays the same). replay.ts is driver-check's replay of
 * a recorded driver trace through the IOMMU core, for driver findings.
 */
export const NOT_DEVICE_CODE: ReadonlyMap<string, string> = new Map([
  [
    'device-ref/iommu/replay.ts',
    "driver-check's replay of a recorded driver trace (driver findings only); `viommu device` never loads this module",
  ],
]);

/** The device-ref sources a run mutates unless --files says otherwise: the device's code. */
export const DEFAULT_FILES = [
  'device-ref/iommu/**/*.ts',
  'device-ref/virtio/**/*.ts',
  'device-ref/platform/**/*.ts',
  'device-ref/board/**/*.ts',
];

/** The device-ref sources (`device-ref/…/x.ts`) under `root` that `globs` match, sorted. */
export async function sourceFiles(root: string, globs: readonly string[]): Promise<string[]> {
  const match = picomatch([...globs]);
  const all = (await readdir(join(root, 'device-ref'), { recursive: true }))
    .map((name) => ['device-ref', ...name.split(sep)].join('/'))
    .filter((file) => file.endsWith('.ts') && !file.includes('/test/') && match(file));
  return all.sort();
}

/**
 * The mutants at `places` (`file:line` or `file:line:column`, as the runner prints them);
 * fails on a place that holds none, so a stale place is not silently skipped.
 */
export function mutantsAt<T extends Pick<Mutant, 'file' | 'line' | 'column'>>(
  mutants: readonly T[],
  places: readonly string[],
): T[] {
  const wanted = places.map((place) => {
    const match = /^(.+?):(\d+)(?::(\d+))?$/.exec(place);
    if (match === null)
      throw new Error(`--mutant ${place}: expected FILE:LINE or FILE:LINE:COLUMN`);
    const [, file, line, column] = match;
    return { place, file: file!, line: Number(line), column: column && Number(column) };
  });
  for (const w of wanted) {
    if (
      !mutants.some(
        (m) =>
          m.file === w.file &&
          m.line === w.line &&
          (w.column === undefined || m.column === w.column),
      )
    )
      throw new Error(`--mutant ${w.place}: no mutant there`);
  }
  return mutants.filter((m) =>
    wanted.some(
      (w) =>
        m.file === w.file && m.line === w.line && (w.column === undefined || m.column === w.column),
    ),
  );
}
