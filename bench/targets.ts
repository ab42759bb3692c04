// The targets a device benchmark measures: the names given on its command line (`ref`,
// `qemu`), or both, side by side, when none is given (as `npm run bench` runs it).

const KNOWN = ['ref', 'qemu'];

export function benchTargets(argv: readonly string[] = process.argv.slice(2)): string[] {
  const unknown = argv.filter((name) => !KNOWN.includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown target ${unknown.join(', ')}: give ${KNOWN.join(' and/or ')}`);
  }
  return argv.length > 0 ? [...argv] : KNOWN;
}
