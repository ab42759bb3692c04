// Evaluates the integer constant expressions that `#define` lines hold: numbers (with
// U/L suffixes), names of other macros, parentheses, unary - ~ !, and the binary
// operators * / % + - << >> & ^ |. Anything else is not evaluated (undefined).

type Lookup = (name: string) => bigint | undefined;

const TOKEN = /\s*(?:(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*|([A-Za-z_]\w*)|(<<|>>|[-+*/%&|^~!()]))/y;

// Binary operators by precedence, loosest first.
const BINARY: string[][] = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

function apply(op: string, a: bigint, b: bigint): bigint | undefined {
  switch (op) {
    case '|':
      return a | b;
    case '^':
      return a ^ b;
    case '&':
      return a & b;
    case '<<':
      return a << b;
    case '>>':
      return a >> b;
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0n ? undefined : a / b;
    case '%':
      return b === 0n ? undefined : a % b;
  }
  return undefined;
}

export function evaluateCExpression(
  text: string,
  lookup: Lookup = () => undefined,
): bigint | undefined {
  const source = text.trimEnd();
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const m = TOKEN.exec(source);
    if (!m) return undefined;
    tokens.push(m[1] !== undefined ? `#${m[1]}` : (m[2] ?? m[3]));
  }
  if (tokens.length === 0) return undefined;
  let pos = 0;
  const primary = (): bigint | undefined => {
    const t = tokens[pos++];
    if (t === undefined) return undefined;
    if (t.startsWith('#')) return BigInt(t.slice(1));
    if (t === '(') {
      const v = binary(0);
      return tokens[pos++] === ')' ? v : undefined;
    }
    if (t === '-' || t === '~' || t === '!' || t === '+') {
      const v = primary();
      if (v === undefined) return undefined;
      return t === '-' ? -v : t === '~' ? ~v : t === '!' ? (v === 0n ? 1n : 0n) : v;
    }
    if (/^[A-Za-z_]/.test(t)) return lookup(t);
    return undefined;
  };
  const binary = (level: number): bigint | undefined => {
    if (level === BINARY.length) return primary();
    let left = binary(level + 1);
    while (left !== undefined && BINARY[level].includes(tokens[pos])) {
      const op = tokens[pos++];
      const right = binary(level + 1);
      left = right === undefined ? undefined : apply(op, left, right);
    }
    return left;
  };
  const value = binary(0);
  return pos === tokens.length ? value : undefined;
}
