// `viommu drift`: a header against the model (or a profile of it). Reads and parses the
// header, measures its ABI with the C compiler (or works the layout out from the text when
// there is none), compares, and sorts the findings into accepted ones and drift.

import { readFileSync } from 'node:fs';
import { cView } from '../emit/c-view.js';
import type { SpecModel } from '../model.js';
import { applyProfile, loadProfile } from '../profiles/profile.js';
import { allowanceFor, type Allowance } from './allow-list.js';
import { rankVersions, type KnownVersion, type VersionMatch } from './closest-version.js';
import { compareHeader, type Finding } from './compare.js';
import { parseHeader } from './parse-header.js';
import { probeHeader, type ProbeTarget } from './probe.js';
import { DEFAULT_LIMITS, type Limits } from './run-limited.js';
import { textMeasurements } from './text-layout.js';

export const SYSTEM_HEADER = '/usr/include/linux/virtio_iommu.h';

export interface DriftOptions {
  profile?: string;
  /** The accepted differences and where they come from; none when absent. */
  allowList?: { label: string; allowances: Allowance[] };
  compiler?: string;
  /** Limits for the compiler run (default: DEFAULT_LIMITS). */
  limits?: Partial<Limits>;
  /** Known versions of the spec (oldest first, the current one last): the report names the closest. */
  versions?: KnownVersion[];
}

export type AbiCheck =
  | {
      measured: true;
      compiler: string;
      target: ProbeTarget;
      /** Object-like macros with no integer constant value. */
      notIntegers: string[];
    }
  | { measured: false; compiler: string; reason: string };

export interface DriftFinding extends Finding {
  /** The reason from the allow-list, when the difference is accepted. */
  accepted?: string;
}

export interface DriftReport {
  header: string;
  model: { title: string; version: string };
  profile?: string;
  abi: AbiCheck;
  allowList?: string;
  findings: DriftFinding[];
  /** Allow-list entries that matched nothing: the header no longer differs there. */
  unused: Allowance[];
  drift: number;
  accepted: number;
  /** With known versions: each one's match, best first; the best one's findings in full. */
  versions?: { best: VersionMatch; ranking: Omit<VersionMatch, 'findings'>[] };
}

/** A problem that stops the check (a header that cannot be read or compiled): exit status 2. */
export class DriftError extends Error {}

export async function driftReport(
  model: SpecModel,
  headerPath: string,
  options: DriftOptions = {},
): Promise<DriftReport> {
  let text: string;
  try {
    text = readFileSync(headerPath, 'utf8');
  } catch (error) {
    const hint =
      headerPath === SYSTEM_HEADER
        ? '; install the kernel headers (Debian: linux-libc-dev) or name a header: viommu drift PATH'
        : '';
    throw new DriftError(
      `cannot read ${headerPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}${hint}`,
    );
  }
  let view = cView(model);
  if (options.profile) {
    try {
      view = applyProfile(view, loadProfile(options.profile));
    } catch (error) {
      throw new DriftError((error as Error).message);
    }
  }
  const header = parseHeader(text, headerPath);
  const probe = await probeHeader(headerPath, header, options.compiler, {
    ...DEFAULT_LIMITS,
    ...options.limits,
  });
  if (probe.kind === 'failed') throw new DriftError(`${headerPath}: ${probe.message}`);
  const abi: AbiCheck =
    probe.kind === 'measured'
      ? {
          measured: true,
          compiler: probe.compiler,
          target: probe.target,
          notIntegers: probe.notIntegers,
        }
      : { measured: false, compiler: probe.compiler, reason: `no C compiler (${probe.compiler})` };
  const measurements = probe.kind === 'measured' ? probe.measurements : textMeasurements(header);
  const allowances = options.allowList?.allowances ?? [];
  const used = new Set<Allowance>();
  const findings = compareHeader(view, header, measurements).map((f): DriftFinding => {
    const a = allowanceFor(f, allowances);
    if (!a) return f;
    used.add(a);
    return { ...f, accepted: a.reason };
  });
  const accepted = findings.filter((f) => f.accepted !== undefined).length;
  const ranked = options.versions?.length
    ? rankVersions(options.versions, header, measurements)
    : undefined;
  return {
    header: headerPath,
    model: { title: model.title, version: model.version },
    ...(options.profile ? { profile: options.profile } : {}),
    abi,
    ...(options.allowList ? { allowList: options.allowList.label } : {}),
    findings,
    unused: allowances.filter((a) => !used.has(a)),
    drift: findings.length - accepted,
    accepted,
    ...(ranked
      ? {
          versions: {
            best: ranked[0],
            ranking: ranked.map(({ findings: _, ...rest }) => rest),
          },
        }
      : {}),
  };
}
