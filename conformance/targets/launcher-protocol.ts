// What the suite and its launcher process (launcher.ts, launcher-main.ts) say to each other:
// one JSON object per line. Requests: start a process (with the suite's environment and
// working directory of the moment, as a spawn of its own would have), kill one. Events, each
// naming the request's id: the process's pid, a piece of what it printed, and exactly one end
// (it exited, or it could not be started).

export type LauncherRequest =
  | {
      op: 'launch';
      id: number;
      command: string;
      args: string[];
      env: Record<string, string>;
      cwd: string;
    }
  | { op: 'kill'; id: number };

export type LauncherEvent =
  | { id: number; pid: number }
  | { id: number; output: string }
  | { id: number; exit: { code: number | null; signal: string | null } }
  | { id: number; error: string };

const isId = (value: unknown): value is number => Number.isSafeInteger(value);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

function parse(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A request line, or undefined when it is not one. */
export function parseRequest(line: string): LauncherRequest | undefined {
  const value = parse(line);
  if (value === undefined || !isId(value.id)) return undefined;
  const { op, id, command, args, env, cwd } = value;
  if (op === 'kill') return { op, id };
  if (
    op === 'launch' &&
    typeof command === 'string' &&
    isStrings(args) &&
    isObject(env) &&
    Object.values(env).every((item) => typeof item === 'string') &&
    typeof cwd === 'string'
  )
    return { op, id, command, args, env: env as Record<string, string>, cwd };
  return undefined;
}

/** An event line, or undefined when it is not one. */
export function parseEvent(line: string): LauncherEvent | undefined {
  const value = parse(line);
  if (value === undefined || !isId(value.id)) return undefined;
  const id = value.id;
  if (isId(value.pid)) return { id, pid: value.pid };
  if (typeof value.output === 'string') return { id, output: value.output };
  if (typeof value.error === 'string') return { id, error: value.error };
  if (isObject(value.exit)) {
    const { code, signal } = value.exit;
    if ((code === null || isId(code)) && (signal === null || typeof signal === 'string'))
      return { id, exit: { code, signal } };
  }
  return undefined;
}
