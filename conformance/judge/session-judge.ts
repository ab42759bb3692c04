// The DMA judge of one test's session, shared by every DMA the test judges (scenario steps,
// boundary probes, hand-written tests): one background fill per session, one guard-zone fill
// per judged step.
//
// What it watches (the target's judgeWindow, `--judge-window`): `all-ram`, the default on
// device-ref, all the target's RAM (3 MiB on the suite's board, targets/ref.ts); or `near`, the default elsewhere:
// WINDOW_AROUND_RAM either side of `@ram`, where the suite's targets lie. On QEMU a b64read of
// 16 MiB takes ~55 ms (cheap next to a 100 ms transfer) but filling 9 MiB took ~0.4 s per
// session, so the window is 3 MiB: ~0.13 s of fill per session. Guard zones around every
// physical target are watched in both. Never watched: the legacy hole
// 0xa0000..0xfffff (ROM and VGA on QEMU, not RAM) and the suite's own memory: every region
// allocated but `@ram` (the staging page and the queues, which the device writes legitimately
// while a DMA is judged).

import { ownMemory, type Session } from '../session.js';
import { DmaJudge } from './dma-judge.js';
import type { Span } from './spans.js';

const LEGACY_HOLE: Span = { start: 0xa_0000, end: 0x10_0000 };
/** Watched either side of `@ram` in the `near` window. */
export const WINDOW_AROUND_RAM = 0x10_0000;
/**
 * The guard zones' reach either side of a target in the `all-ram` window. There the window
 * already holds every byte, so a guard zone only carries the step's own salt, which tells a
 * byte an earlier step's read left in edu's buffer from one read now: a read may bring bytes
 * only from its targets, which are always guard zone, so a page either side is plenty. In the
 * `near` window the zones also watch memory outside it and keep the judge's 64 KiB default.
 */
const ALL_RAM_GUARD = 0x1000;

const judges = new WeakMap<Session, DmaJudge>();

/** The judge of `session`, made on first use. */
export function sessionJudge(session: Session): DmaJudge {
  let judge = judges.get(session);
  if (judge === undefined) {
    const ram: Span = { start: 0, end: session.target.ramSize };
    judge = new DmaJudge(session.qtest, {
      ...(session.target.judgeWindow === 'all-ram'
        ? { window: [ram], guard: ALL_RAM_GUARD }
        : { window: nearRam(session) }),
      ram: [ram],
      exclude: () => [
        LEGACY_HOLE,
        ...ownMemory(session).map(({ base, size }) => ({
          start: Number(base),
          end: Number(base) + size,
        })),
      ],
    });
    judges.set(session, judge);
  }
  return judge;
}

function nearRam(session: Session): Span[] {
  const ram = Number(session.ram.base);
  return [{ start: ram - WINDOW_AROUND_RAM, end: ram + session.ram.size + WINDOW_AROUND_RAM }];
}
