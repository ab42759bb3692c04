// The targets a device benchmark measures: the names given on its command line (`ref`,
// `qemu`), or both, side by side, when none is given (as `npm run bench` runs it).

/** The targets a device benchmark knows. */
export const BENCH_TARGETS: readonly string[] = ['ref', 'qemu'];

export function benchTargets(argv: readonly string[] = process.argv.slice(2)): string[] {
  const unknown = argv.filter((name) => !BENCH_TARGETS.includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown target ${unknown.join(', ')}: give ${BENCH_TARGETS.join(' and/or ')}`);
  }
  return argv.length > 0 ? [...argv] : [...BENCH_TARGETS];
}
