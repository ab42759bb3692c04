// Test fixture (Linux): the processes a child started, found by walking /proc's parent links
// from the child's PID, never by name, so that other people's device servers on the same
// machine never count. A watcher samples the tree while the child runs, because a leftover
// process is re-parented once the child ends and can no longer be traced to it.

import { readdir, readFile } from 'node:fs/promises';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command line, words joined by spaces. */
  command: string;
}

/** Parses /proc/PID/stat; undefined when the process is gone or a zombie. */
async function readProcess(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The name field may hold spaces and parentheses: the fields we want follow the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z') return undefined;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return { pid, ppid: Number(ppid), command: cmdline.split('\0').join(' ').trim() };
  } catch {
    return undefined;
  }
}

/** Whether the process runs (neither gone nor a zombie waiting to be reaped). */
export async function isAlive(pid: number): Promise<boolean> {
  return (await readProcess(pid)) !== undefined;
}

/** Every live descendant of `root` (children, their children, …). */
export async function descendants(root: number): Promise<ProcessInfo[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const all = (await Promise.all(pids.map(readProcess))).filter(
    (info): info is ProcessInfo => info !== undefined,
  );
  const found: ProcessInfo[] = [];
  let parents = new Set([root]);
  while (parents.size > 0) {
    const children = all.filter((info) => parents.has(info.ppid));
    found.push(...children);
    parents = new Set(children.map((info) => info.pid));
  }
  return found;
}

/** Samples the descendants of `root` every `everyMs` until stop(); keeps each one seen. */
export function watchDescendants(
  root: number,
  everyMs = 20,
): { seen: Map<number, ProcessInfo>; stop: () => Promise<void> } {
  const seen = new Map<number, ProcessInfo>();
  let stopped = false;
  const sampling = (async () => {
    while (!stopped) {
      for (const info of await descendants(root)) if (!seen.has(info.pid)) seen.set(info.pid, info);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    seen,
    stop: async () => {
      stopped = true;
      await sampling;
    },
  };
}
