// The statement IDs the code cites near a mutant (device-ref names the statements a handler
// implements in its comments): the nearest comment above the mutant that names some, else
// the file's header comment. A hint for the survivor list, not a verdict.

const ID = /\bdev\.[a-z0-9-]+(?:\.[a-z0-9-]+)+/g;

export function statementsNear(source: string, line: number): string[] {
  const lines = source.split('\n');
  for (let i = line - 1; i >= 0; i--) {
    const text = lines[i]!.trim();
    if (!text.startsWith('//') && !text.startsWith('*') && !text.startsWith('/*')) continue;
    const ids = text.match(ID);
    if (ids !== null) return [...new Set(ids)];
  }
  return [];
}
