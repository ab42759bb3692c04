// CPU time of this process and of the children it has reaped (device-ref processes), and of the
// launcher process with the children it has reaped (QEMUs), from /proc: on a shared machine a
// run's wall time follows the scheduler, its CPU time much less, so the benches print both.

import { readFileSync } from 'node:fs';
import { sharedLauncher } from '../conformance/targets/launcher.js';

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface CpuTimes {
  /** This process, user and system, in ms. */
  ownMs: number;
  /**
   * Children that ended and were waited for, and the launcher with the children it waited for,
   * user and system, in ms; undefined without /proc.
   */
  childrenMs: number | undefined;
}

export function cpuTimes(): CpuTimes {
  const { user, system } = process.cpuUsage();
  const reaped = reapedChildrenMs();
  const launcher = sharedLauncher().pid;
  const launcherMs = launcher === undefined ? 0 : (launcherTreeMs(launcher) ?? 0);
  return {
    ownMs: (user + system) / 1000,
    childrenMs: reaped === undefined ? undefined : reaped + launcherMs,
  };
}

/**
 * What happened between `before` and `after`. A launcher counts in both (once it has died and
 * been waited for, among the reaped children), so the difference holds whether it ran
 * throughout, started in between, or died in between.
 */
export function cpuSpent(before: CpuTimes, after: CpuTimes): CpuTimes {
  return {
    ownMs: after.ownMs - before.ownMs,
    childrenMs:
      before.childrenMs === undefined || after.childrenMs === undefined
        ? undefined
        : after.childrenMs - before.childrenMs,
  };
}

/** utime + stime of a live process, in ms; throws where /proc does not tell. */
export function processCpuMs(pid: number | 'self'): number {
  return statTimesMs(pid, 11);
}

/** The launcher's own CPU and that of the children it waited for; undefined once it is gone. */
function launcherTreeMs(pid: number): number | undefined {
  try {
    return statTimesMs(pid, 11) + statTimesMs(pid, 13);
  } catch {
    return undefined;
  }
}

function reapedChildrenMs(): number | undefined {
  try {
    return statTimesMs('self', 13);
  } catch {
    return undefined;
  }
}

/** Two consecutive times of /proc/PID/stat, counted from the field after the command name. */
function statTimesMs(pid: number | 'self', first: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is the 3rd (index 0 here), utime the
  // 14th, stime the 15th, cutime the 16th, cstime the 17th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[first]) + Number(fields[first + 1])) * 1000) / TICKS_PER_SECOND;
}
