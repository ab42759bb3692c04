// Which known version of the spec a header is: the header is compared with every version's C
// view (the same comparison as drift's), and each version scores the share of definitions
// that agree, counting the header's extra names against it. Length checks cannot tell
// versions apart (MAP is 40 bytes in v0.4 and today); names, offsets and values can.

import { cView, viewDefines, viewStructs } from '../emit/c-view.js';
import type { SpecModel } from '../model.js';
import { compareHeader, type Finding } from './compare.js';
import type { ParsedHeader } from './parse-header.js';
import type { Measurements } from './probe.js';

export interface KnownVersion {
  name: string;
  model: SpecModel;
}

export interface VersionMatch {
  version: string;
  /** agree / (definitions of the version + names only the header has), 0 to 1. */
  score: number;
  /** Definitions of the version (macros, structs, fields) the header has just so. */
  agree: number;
  /** Definitions of the version. */
  total: number;
  /** Names the header has and the version does not. */
  extra: number;
  findings: Finding[];
}

export function matchVersion(
  version: KnownVersion,
  header: ParsedHeader,
  measurements: Measurements,
): VersionMatch {
  const view = cView(version.model);
  const structs = viewStructs(view);
  const total =
    viewDefines(view).length + structs.length + structs.reduce((n, s) => n + s.fields.length, 0);
  const findings = compareHeader(view, header, measurements);
  const differing = new Set(findings.filter((f) => f.kind !== 'extra').map((f) => f.subject));
  const extra = findings.filter((f) => f.kind === 'extra').length;
  const agree = total - differing.size;
  return {
    version: version.name,
    score: total + extra === 0 ? 0 : agree / (total + extra),
    agree,
    total,
    extra,
    findings,
  };
}

/** Every version's match, best first (on a tie, the later version: it is listed last). */
export function rankVersions(
  versions: KnownVersion[],
  header: ParsedHeader,
  measurements: Measurements,
): VersionMatch[] {
  const matches = versions.map((v, order) => ({ order, m: matchVersion(v, header, measurements) }));
  matches.sort((a, b) => b.m.score - a.m.score || b.order - a.order);
  return matches.map((x) => x.m);
}
