// One DMA step of a scenario (`dma @ep read|write ADDR LEN => …`): the access goes through
// edu, and is judged byte by byte over the watched memory (judge/) and by the fault reports
// on the event queue, each part of a fault report against the statement it is evidence for.

import {
  VIRTIO_IOMMU_FAULT_F_READ,
  VIRTIO_IOMMU_FAULT_F_WRITE,
  faultReasonName,
  type Fault,
} from '../../dist/ts/index.js';
import type { Step, Value } from '../../dist/ts/schemas/cases.js';
import type { MemoryFinding, SuspectLine } from '../judge/dma-judge.js';
import { writePayload } from '../judge/payload.js';
import { sessionJudge } from '../judge/session-judge.js';
import type { Session } from '../session.js';
import type { DriverView } from './driver-view.js';
import type { EduRoute } from './edu-route.js';
import { ExpectationFailure, SuiteError, UntestableStep, type Evidence } from './expectation.js';
import { constantValue, shortName } from './spec-names.js';

/** A part of an expectation that is evidence for a statement other than the scenario's own. */
export interface PartFinding {
  statement: string;
  holds: boolean;
  evidence: Evidence & { message: string };
}

/**
 * The parts of a `=> fault R` expectation and the statement each part is evidence for. A
 * blocked access is the scenario's own statement; whether a report came at all is up to the
 * device (no report: the scenario cannot judge its statement); the report's endpoint is
 * dev.fault.endpoint's, its access flags dev.fault.flags-access's; its reason is no
 * statement's (a note on the verdict).
 */
const FAULT_PART_STATEMENTS: {
  endpoint: string;
  flags: string;
  reason: string | undefined;
} = {
  endpoint: 'dev.fault.endpoint',
  flags: 'dev.fault.flags-access',
  reason: undefined,
};
const FAULT_STATEMENTS = new Set(Object.values(FAULT_PART_STATEMENTS));

const PAGE = 0x1000;

/** How long to wait for fault reports after a blocked access. */
export const FAULT_WAIT_MS = 300;

export type DmaStep = Extract<Step, { op: 'dma' }>;

/** What a DMA step needs of the scenario run it belongs to. */
export interface DmaStepContext {
  readonly session: Session;
  readonly scenarioId: string;
  /** The statement the scenario belongs to: `dev.fault.endpoint#3` → `dev.fault.endpoint`. */
  readonly statement: string;
  /** The step's line in the scenario. */
  readonly line: number;
  readonly view: DriverView;
  /** The edu route of the run, made on first use. */
  route(): EduRoute;
  /** A value of the scenario, resolved on this target. */
  value(value: Value): bigint;
  /** A value of the scenario, with a literal IOVA moved into the device's input range. */
  placed(path: string, value: Value): bigint;
  /** Parts of expectations that are evidence for other statements. */
  readonly findings: PartFinding[];
  readonly notes: string[];
}

/** Runs one DMA step through edu and judges the memory it reached and the faults reported. */
export async function runDmaStep(ctx: DmaStepContext, step: DmaStep): Promise<void> {
  const driver = ctx.session.driver;
  const edu = driver.edu;
  const endpoint = Number(ctx.value(step.endpoint));
  if (edu === undefined || edu.endpointId !== endpoint) {
    throw new SuiteError(
      `endpoint 0x${endpoint.toString(16)} has no DMA engine the suite can drive`,
    );
  }
  const route = ctx.route();
  const judge = sessionJudge(ctx.session);
  const iova = ctx.placed('address', step.address);
  const length = step.length;
  const expect = step.expect;
  const expected = expect.result === 'ok' ? ctx.value(expect.address) : undefined;
  if (expected !== undefined && !judge.inRam(expected, length)) {
    throw new UntestableStep(
      `0x${expected.toString(16)} is not guest RAM the suite can watch (line ${step.line})`,
    );
  }
  // Places a wrong device might reach: the identity address and every address a mapping
  // ever gave this IOVA. All of them, and the expected place, get guard zones.
  const suspects: SuspectLine[] = [
    { offset: 0, address: Number(iova), why: 'the IOVA taken as a physical address' },
    ...(expected === undefined
      ? []
      : [-PAGE, PAGE].map((delta) => ({
          offset: 0,
          address: Number(expected) + delta,
          why: `one page ${delta < 0 ? 'below' : 'above'} the expected place`,
        }))),
    ...ctx.view.physicalAliases(iova).map((pa) => ({
      offset: 0,
      address: Number(pa),
      why: `where a mapping once put IOVA 0x${iova.toString(16)}`,
    })),
  ];
  if (expected !== undefined) judge.watch(expected, length);
  for (const line of suspects) judge.watch(line.address, length);
  const describe = `${step.access} of ${length} bytes at IOVA 0x${iova.toString(16)}`;
  const salt = `${ctx.scenarioId}:${step.line}`;
  await driver.collectEvents();
  let findings: MemoryFinding[];
  if (step.access === 'read') {
    await judge.prepare(salt);
    await edu.toDevice(iova, length);
    const faults = await awaitFaults(ctx, expect);
    const arrived = await route.read(length);
    const sources =
      expected === undefined
        ? []
        : [{ offset: 0, length, address: Number(expected), required: true }];
    findings = judge.judgeRead({ label: describe, length, sources, suspects }, arrived);
    judgeDma(ctx, describe, step.access, expect, findings, faults);
  } else {
    const payload = writePayload(salt, length);
    await route.load(payload);
    await judge.prepare(salt);
    await edu.fromDevice(iova, length);
    const faults = await awaitFaults(ctx, expect);
    const landing =
      expected === undefined
        ? []
        : [{ offset: 0, length, address: Number(expected), required: true }];
    findings = await judge.judgeWrites([{ label: describe, payload, landing }]);
    judgeDma(ctx, describe, step.access, expect, findings, faults);
  }
}

async function awaitFaults(ctx: DmaStepContext, expect: DmaStep['expect']): Promise<Fault[]> {
  if (expect.result !== 'fault') return [];
  const events = await ctx.session.driver.waitEvents(1, FAULT_WAIT_MS);
  return events.flatMap((event) => (event.fault === undefined ? [] : [event.fault]));
}

function judgeDma(
  ctx: DmaStepContext,
  describe: string,
  access: DmaStep['access'],
  expect: DmaStep['expect'],
  findings: readonly MemoryFinding[],
  faults: Fault[],
): void {
  if (findings.length > 0) {
    const failure = {
      expected:
        expect.result === 'ok'
          ? `the access reaches 0x${ctx.value(expect.address).toString(16)}, and nothing else`
          : expect.result === 'fault'
            ? `blocked, fault ${shortName(expect.reason)}`
            : 'blocked',
      message: findings.map((f) => f.text).join('; '),
    };
    // A scenario of a statement about fault reports cannot judge them when the access was
    // not blocked; whether it may pass is for the isolation statements' own tests.
    if (expect.result === 'fault' && FAULT_STATEMENTS.has(ctx.statement))
      throw new UntestableStep(`${describe}: ${failure.message}, so there was no fault to judge`);
    throw new ExpectationFailure(failure);
  }
  if (expect.result === 'fault') judgeFault(ctx, describe, access, expect.reason, faults);
}

/** Judges each part of a fault report against the statement it is evidence for. */
function judgeFault(
  ctx: DmaStepContext,
  describe: string,
  access: DmaStep['access'],
  reasonName: string,
  faults: Fault[],
): void {
  const endpoint = ctx.session.driver.edu!.endpointId;
  const got =
    faults
      .map((f) => `${faultReasonName(f.reason)} for endpoint 0x${f.endpoint.toString(16)}`)
      .join('; ') || 'none';
  if (faults.length === 0) {
    throw new UntestableStep(
      `${describe} was blocked, and the device reported no fault within ${FAULT_WAIT_MS} ms (reporting faults is up to the device)`,
    );
  }
  judgePart(ctx, FAULT_PART_STATEMENTS.endpoint, {
    holds: faults.some((f) => f.endpoint === endpoint),
    expected: `a fault report for endpoint 0x${endpoint.toString(16)}`,
    message: `${describe} was blocked; fault reports within ${FAULT_WAIT_MS} ms: ${got}`,
  });
  const mine = faults.filter((f) => f.endpoint === endpoint);
  const contrary = access === 'read' ? VIRTIO_IOMMU_FAULT_F_WRITE : VIRTIO_IOMMU_FAULT_F_READ;
  const flags = mine.map((f) => `0x${f.flags.toString(16)}`).join(', ');
  judgePart(ctx, FAULT_PART_STATEMENTS.flags, {
    holds: mine.every((f) => (f.flags & contrary) === 0),
    expected: `no ${access === 'read' ? 'WRITE' : 'READ'} flag in the reports of a ${access}`,
    message: `${describe} was blocked; flags of its fault reports: ${flags || 'none'}`,
  });
  const reason = constantValue(reasonName);
  judgePart(ctx, FAULT_PART_STATEMENTS.reason, {
    holds: faults.some((f) => f.endpoint === endpoint && f.reason === reason),
    expected: `a fault report ${shortName(reasonName)} for endpoint 0x${endpoint.toString(16)}`,
    message: `${describe} was blocked; fault reports within ${FAULT_WAIT_MS} ms: ${got}`,
  });
}

/**
 * One part of an expectation, evidence for `statement`: the scenario's own statement fails
 * on it and stops; for another statement it is a finding (pass or fail) and the scenario
 * goes on; a part no statement is about becomes a note when it does not hold.
 */
function judgePart(
  ctx: DmaStepContext,
  statement: string | undefined,
  part: { holds: boolean; expected: string; message: string },
): void {
  const evidence = {
    expected: part.expected,
    message: `line ${ctx.line}: ${part.message}`,
  };
  if (statement !== undefined && statement !== ctx.statement) {
    ctx.findings.push({ statement, holds: part.holds, evidence });
    return;
  }
  if (part.holds) return;
  if (statement === undefined) {
    ctx.notes.push(`line ${ctx.line}: expected ${part.expected}; ${part.message}`);
    return;
  }
  throw new ExpectationFailure({ expected: part.expected, message: part.message });
}
