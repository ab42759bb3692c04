// The DMA judge of one test's session, shared by every DMA the test judges (scenario steps,
// boundary probes, hand-written tests): one background fill per session, one guard-zone fill
// per judged step.
//
// What it watches (the target's judgeWindow, `--judge-window`): `all-ram`, the default on
// device-ref, all the target's RAM (3 MiB on the suite's board, targets/ref.ts); or `near`, the default elsewhere:
// WINDOW_AROUND_RAM either side of `@ram`, where the suite's targets lie. Filling the window
// costs a memset (far-fill.ts), but every judged step reads all of it back: ~16 ms for these
// 3 MiB on QEMU, ~9 ms for device-ref's 3 MiB of RAM. Guard zones around every
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

const judges = new WeakMap<Session, DmaJudge>();

/** The judge of `session`, made on first use. */
export function sessionJudge(session: Session): DmaJudge {
  let judge = judges.get(session);
  if (judge === undefined) {
    const ram: Span = { start: 0, end: session.target.ramSize };
    judge = new DmaJudge(session.qtest, {
      window: session.target.judgeWindow === 'all-ram' ? [ram] : nearRam(session),
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
