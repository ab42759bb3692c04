// Sets of guest-physical addresses as sorted, disjoint half-open spans [start, end), and how
// reports print them (`0x1fffff..0x1fffff`, inclusive, as the spec writes ranges).

export interface Span {
  start: number;
  end: number;
}

/** Sorted, merged copy of `spans` (empty spans dropped). */
export function normalize(spans: readonly Span[]): Span[] {
  const sorted = spans.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start);
  const out: Span[] = [];
  for (const span of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else out.push({ ...span });
  }
  return out;
}

/** `spans` without the addresses in `minus`. */
export function subtract(spans: readonly Span[], minus: readonly Span[]): Span[] {
  let out = normalize(spans);
  for (const cut of normalize(minus)) {
    out = out.flatMap((s) => {
      if (cut.end <= s.start || cut.start >= s.end) return [s];
      const parts: Span[] = [];
      if (cut.start > s.start) parts.push({ start: s.start, end: cut.start });
      if (cut.end < s.end) parts.push({ start: cut.end, end: s.end });
      return parts;
    });
  }
  return out;
}

/** The parts of `spans` inside `within`. */
export function intersect(spans: readonly Span[], within: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (const a of normalize(spans)) {
    for (const b of normalize(within)) {
      const start = Math.max(a.start, b.start);
      const end = Math.min(a.end, b.end);
      if (end > start) out.push({ start, end });
    }
  }
  return normalize(out);
}

export function contains(spans: readonly Span[], address: number): boolean {
  return spans.some((s) => address >= s.start && address < s.end);
}

export function spanBytes(spans: readonly Span[]): number {
  return spans.reduce((sum, s) => sum + (s.end - s.start), 0);
}

export function hexAddress(address: number | bigint): string {
  return `0x${address.toString(16)}`;
}

/** `0x1000..0x100f (16 bytes)`: an inclusive range, as the spec writes ranges. */
export function formatSpan(span: Span): string {
  const length = span.end - span.start;
  return `${hexAddress(span.start)}..${hexAddress(span.end - 1)} (${length} byte${length === 1 ? '' : 's'})`;
}

/** Groups the sorted addresses `points` into runs of consecutive addresses. */
export function runsOf(points: readonly number[]): Span[] {
  const out: Span[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last !== undefined && last.end === p) last.end = p + 1;
    else out.push({ start: p, end: p + 1 });
  }
  return out;
}
