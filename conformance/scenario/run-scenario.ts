// The scenario runner: executes the steps of one scenario (dist/cases.json, grammar in
// docs/spec-dialect.md) on a fresh device and says whether the device did what they expect.
// Requests go through the typed driver; DMA goes through edu and is judged by the bytes that
// arrive and by the fault reports on the event queue.

import * as spec from '../../dist/ts/index.js';
import type { Scenario, Step, Value } from '../../generator/model.js';
import { FieldError, requestName, type RequestVerb } from '../driver/requests.js';
import { TargetProfile } from '../profile.js';
import type { Session } from '../session.js';
import { featureBit } from '../virtio/constants.js';
import { DriverView } from './driver-view.js';
import { EduRoute } from './edu-route.js';
import {
  ExpectationFailure,
  InapplicableStep,
  SuiteError,
  UntestableStep,
  toHex,
  type Evidence,
} from './expectation.js';
import { patternFor } from './pattern.js';

export type ScenarioOutcome =
  | {
      outcome: 'pass';
      /** Requests whose expectation allowed several statuses: what the device chose. */
      choices: Choice[];
      /** What the scenario saw that no statement it judges is about (a fault's reason). */
      notes: string[];
      findings: PartFinding[];
    }
  | {
      outcome: 'fail';
      evidence: Evidence & { message: string };
      /** The statement the failure is about when it is not the scenario's own. */
      statement?: string;
      findings: PartFinding[];
    }
  | { outcome: 'not-applicable' | 'untested'; reason: string };

/** A request whose expectation allowed several statuses, and the one the device wrote. */
export interface Choice {
  line: number;
  request: string;
  status: string;
}

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

/** How long to wait for fault reports after a blocked access. */
export const FAULT_WAIT_MS = 300;
/** Guest RAM ends here on the boards we drive (256 MiB), and edu's DMA mask is 28 bits. */
const RAM_END = 0x1000_0000n;

type RequestStep = Extract<Step, { op: 'request' }>;
type DmaStep = Extract<Step, { op: 'dma' }>;

/** A constant of the generated module by name (`VIRTIO_IOMMU_S_OK`). */
export function constantValue(name: string): number {
  const value = (spec as unknown as Record<string, unknown>)[name];
  if (typeof value !== 'number') throw new SuiteError(`${name} is not a constant of the spec`);
  return value;
}

/** Runs `scenario` on a session whose device has not been started yet. */
export async function runScenario(scenario: Scenario, session: Session): Promise<ScenarioOutcome> {
  const driver = session.driver;
  for (const step of scenario.steps) {
    if (step.op !== 'needs') continue;
    const lacking = step.offered.filter(
      (name) => (driver.offered & featureBit(constantValue(name))) === 0n,
    );
    const present = step.notOffered.filter(
      (name) => (driver.offered & featureBit(constantValue(name))) !== 0n,
    );
    if (lacking.length > 0)
      return {
        outcome: 'not-applicable',
        reason: `needs ${lacking.map(shortName).join(' ')}: not offered`,
      };
    if (present.length > 0) {
      return {
        outcome: 'not-applicable',
        reason: `needs ${present.map((n) => '!' + shortName(n)).join(' ')}: offered`,
      };
    }
  }
  const run = new ScenarioRun(scenario, session);
  try {
    await run.start();
    for (const step of scenario.steps) await run.step(step);
    return { outcome: 'pass', choices: run.choices, notes: run.notes, findings: run.findings };
  } catch (error) {
    if (error instanceof UntestableStep)
      return { outcome: 'untested', reason: `line ${run.line}: ${error.message}` };
    if (error instanceof InapplicableStep)
      return { outcome: 'not-applicable', reason: error.message };
    if (error instanceof ExpectationFailure) {
      return {
        outcome: 'fail',
        evidence: { ...error.evidence, message: `line ${run.line}: ${error.evidence.message}` },
        ...(error.statement !== undefined && { statement: error.statement }),
        findings: run.findings,
      };
    }
    // The device broke the connection or the suite broke itself: the harness tells which.
    if (error instanceof Error) error.message = `line ${run.line}: ${error.message}`;
    throw error;
  }
}

class ScenarioRun {
  line = 0;
  lastRequest: { request?: string; reply?: string } = {};
  readonly choices: Choice[] = [];
  readonly notes: string[] = [];
  readonly findings: PartFinding[] = [];
  /** The statement the scenario belongs to: `dev.fault.endpoint#3` → `dev.fault.endpoint`. */
  readonly statement: string;
  readonly #view = new DriverView();
  #profile: TargetProfile | undefined;
  #route: EduRoute | undefined;

  constructor(
    readonly scenario: Scenario,
    readonly session: Session,
  ) {
    this.statement = scenario.id.split('#')[0]!;
  }

  async start(): Promise<void> {
    let accept = 0n;
    let decline = 0n;
    for (const step of this.scenario.steps) {
      if (step.op !== 'features') continue;
      for (const name of step.accept) accept |= featureBit(constantValue(name));
      for (const name of step.decline) decline |= featureBit(constantValue(name));
    }
    const driver = this.session.driver;
    await driver.start({ accept, decline });
    const config = await driver.readConfig();
    this.#profile = TargetProfile.of(driver, config, this.session.ram);
    const page = config.page_size_mask & -config.page_size_mask;
    for (const step of this.scenario.steps) {
      if (step.op !== 'needs' || step.minPage === undefined) continue;
      if (page < BigInt(step.minPage)) {
        throw new InapplicableStep(
          `needs @page>=${step.minPage}: the page granularity is 0x${page.toString(16)}`,
        );
      }
    }
    if (driver.has(spec.VIRTIO_IOMMU_F_DOMAIN_RANGE)) {
      const { start, end } = config.domain_range;
      for (const step of this.scenario.steps) {
        const domain = step.op === 'request' ? step.fields['domain'] : undefined;
        if (domain === undefined || !('num' in domain)) continue;
        const id = Number(domain.num);
        if (id < start || id > end) {
          throw new UntestableStep(
            `domain ${id} (line ${step.line}) is outside domain_range ${start}..${end}`,
          );
        }
      }
    }
  }

  async step(step: Step): Promise<void> {
    this.line = step.line;
    switch (step.op) {
      case 'needs':
      case 'features':
        return;
      case 'request':
        return this.#request(step);
      case 'config-read':
        return this.#configRead(step.field, step.expect);
      case 'config-write':
        return this.session.driver.writeConfig(step.field, this.#value(step.value));
      case 'reset':
        await this.session.driver.start();
        this.#view.reset();
        this.#route?.reset();
        return;
      case 'dma':
        return this.#dma(step);
    }
  }

  #value(value: Value): bigint {
    if ('num' in value) return BigInt(value.num);
    const base = this.#profile!.resolve(value.sym);
    if (value.offset === undefined) return base;
    const negative = value.offset.startsWith('-');
    const magnitude = BigInt(value.offset.replace(/^[+-]/, ''));
    return negative ? base - magnitude : base + magnitude;
  }

  async #request(step: RequestStep): Promise<void> {
    const fields: Record<string, bigint> = {};
    for (const [path, value] of Object.entries(step.fields)) fields[path] = this.#value(value);
    const verb = step.verb as RequestVerb;
    const result = await this.session.driver.request(verb, fields).catch((error: unknown) => {
      // The parser checked every literal, so a value that does not fit its field came from a
      // symbol of this target (`@domain_range.end+1` on a device whose range ends at 2^32-1).
      if (error instanceof FieldError)
        throw new UntestableStep(`${error.message} on this target (line ${step.line})`);
      throw error;
    });
    this.lastRequest = { request: toHex(result.request), reply: toHex(result.reply) };
    const expect = step.expect ?? { status: ['VIRTIO_IOMMU_S_OK'] };
    const name = requestName(result.request);
    const got =
      result.status === undefined
        ? `used length ${result.usedLen} (no status)`
        : `status ${spec.statusName(result.status)}, used length ${result.usedLen}`;
    if (expect.usedLen !== undefined) {
      const unwritten = result.reply.every((byte) => byte === 0xff);
      if (result.usedLen !== expect.usedLen || (expect.usedLen === 0 && !unwritten)) {
        throw new ExpectationFailure({
          ...this.lastRequest,
          expected: `used_len ${expect.usedLen}${expect.usedLen === 0 ? ', buffer unwritten' : ''}`,
          message: `${name} returned ${got}${unwritten ? '' : ', and wrote to the buffer'}`,
        });
      }
      return;
    }
    if (expect.status !== undefined) {
      const allowed = expect.status.map(constantValue);
      if (result.status === undefined || !allowed.includes(result.status)) {
        throw new ExpectationFailure({
          ...this.lastRequest,
          expected: `status ${expect.status.map(shortName).join('|')}`,
          message: `${name} returned ${got}`,
        });
      }
      if (expect.status.length > 1) {
        this.choices.push({
          line: step.line,
          request: name,
          status: shortName(spec.statusName(result.status)),
        });
      }
    }
    if (result.status === spec.VIRTIO_IOMMU_S_OK) this.#view.apply(verb, fields);
  }

  async #configRead(field: string, expect: Value[] | 'nonzero'): Promise<void> {
    const config = (await this.session.driver.readConfig()) as unknown as Record<string, unknown>;
    let value: unknown = config;
    for (const part of field.split('.')) value = (value as Record<string, unknown>)[part];
    if (typeof value !== 'number' && typeof value !== 'bigint') {
      throw new SuiteError(`virtio_iommu_config has no scalar field ${field}`);
    }
    const actual = BigInt(value);
    const ok = expect === 'nonzero' ? actual !== 0n : expect.some((v) => this.#value(v) === actual);
    if (!ok) {
      const wanted =
        expect === 'nonzero'
          ? 'non-zero'
          : expect.map((v) => `0x${this.#value(v).toString(16)}`).join('|');
      throw new ExpectationFailure({
        expected: `${field} ${wanted}`,
        message: `config ${field} reads 0x${actual.toString(16)}`,
      });
    }
  }

  async #dma(step: DmaStep): Promise<void> {
    const driver = this.session.driver;
    const edu = driver.edu;
    const endpoint = Number(this.#value(step.endpoint));
    if (edu === undefined || edu.endpointId !== endpoint) {
      throw new SuiteError(
        `endpoint 0x${endpoint.toString(16)} has no DMA engine the suite can drive`,
      );
    }
    this.#route ??= new EduRoute(this.session, edu, this.#view);
    const route = this.#route;
    const qtest = this.session.qtest;
    const iova = this.#value(step.address);
    const length = step.length;
    const expect = step.expect;
    const expected = expect.result === 'ok' ? this.#value(expect.address) : undefined;
    // Every physical place the access might reach: the expected one, the identity address,
    // and each address a mapping ever gave this IOVA.
    const places = [...new Set([expected, iova, ...this.#view.physicalAliases(iova)])].filter(
      (pa): pa is bigint => pa !== undefined && pa + BigInt(length) <= RAM_END,
    );
    const describe = `${step.access} of ${length} bytes at IOVA 0x${iova.toString(16)}`;
    await driver.collectEvents();
    // Set the watched places up and start the transfer; `observe` then says where it went.
    let observe: () => Promise<{ reached: bigint | undefined; seen: string }>;
    if (step.access === 'read') {
      const patterns = places.map((_, i) =>
        patternFor(`${this.scenario.id}:${step.line}:${i}`, length),
      );
      await Promise.all(places.map((pa, i) => qtest.memwrite(pa, patterns[i]!)));
      await edu.toDevice(iova, length);
      observe = async () => {
        const arrived = await route.read(length);
        const index = patterns.findIndex((p) => Buffer.from(p).equals(arrived));
        return {
          reached: index === -1 ? undefined : places[index],
          seen: `edu's buffer got ${toHex(arrived)}`,
        };
      };
    } else {
      const pattern = patternFor(`${this.scenario.id}:${step.line}`, length);
      await route.load(pattern);
      await Promise.all(places.map((pa) => qtest.memset(pa, length, 0)));
      await edu.fromDevice(iova, length);
      observe = async () => {
        const after = await Promise.all(places.map((pa) => qtest.memread(pa, length)));
        const written = places.filter((_, i) => !after[i]!.every((byte) => byte === 0));
        const exact = places.find((_, i) => Buffer.from(after[i]!).equals(pattern));
        const changed = written.map((pa) => `0x${pa.toString(16)}`).join(', ') || 'none';
        return { reached: exact ?? written[0], seen: `watched addresses changed: ${changed}` };
      };
    }
    const faults = await this.#faults(expect);
    const { reached, seen } = await observe();
    this.#judgeDma(describe, step.access, expect, expected, reached, faults, seen);
  }

  async #faults(expect: DmaStep['expect']): Promise<spec.Fault[]> {
    if (expect.result !== 'fault') return [];
    const events = await this.session.driver.waitEvents(1, FAULT_WAIT_MS);
    return events.flatMap((event) => (event.fault === undefined ? [] : [event.fault]));
  }

  #judgeDma(
    describe: string,
    access: DmaStep['access'],
    expect: DmaStep['expect'],
    expected: bigint | undefined,
    reached: bigint | undefined,
    faults: spec.Fault[],
    seen: string,
  ): void {
    const where =
      reached === undefined
        ? 'reached none of the watched addresses'
        : `reached 0x${reached.toString(16)}`;
    if (expect.result === 'ok') {
      if (reached !== expected) {
        throw new ExpectationFailure({
          expected: `the access reaches 0x${expected!.toString(16)}`,
          message: `${describe} ${where} (${seen})`,
        });
      }
      return;
    }
    if (reached !== undefined) {
      const failure = {
        expected:
          expect.result === 'fault' ? `blocked, fault ${shortName(expect.reason)}` : 'blocked',
        message: `${describe} was not blocked: it ${where} (${seen})`,
      };
      // A scenario of a statement about fault reports cannot judge them when no fault
      // happened; whether the access may pass is for the isolation statements' own tests.
      if (expect.result === 'fault' && FAULT_STATEMENTS.has(this.statement))
        throw new UntestableStep(`${failure.message}, so there was no fault to report`);
      throw new ExpectationFailure(failure);
    }
    if (expect.result === 'fault') this.#judgeFault(describe, access, expect.reason, faults);
  }

  /** Judges each part of a fault report against the statement it is evidence for. */
  #judgeFault(
    describe: string,
    access: DmaStep['access'],
    reasonName: string,
    faults: spec.Fault[],
  ): void {
    const endpoint = this.session.driver.edu!.endpointId;
    const got =
      faults
        .map((f) => `${spec.faultReasonName(f.reason)} for endpoint 0x${f.endpoint.toString(16)}`)
        .join('; ') || 'none';
    if (faults.length === 0) {
      throw new UntestableStep(
        `${describe} was blocked, and the device reported no fault within ${FAULT_WAIT_MS} ms (reporting faults is up to the device)`,
      );
    }
    this.#judgePart(FAULT_PART_STATEMENTS.endpoint, {
      holds: faults.some((f) => f.endpoint === endpoint),
      expected: `a fault report for endpoint 0x${endpoint.toString(16)}`,
      message: `${describe} was blocked; fault reports within ${FAULT_WAIT_MS} ms: ${got}`,
    });
    const mine = faults.filter((f) => f.endpoint === endpoint);
    const contrary =
      access === 'read' ? spec.VIRTIO_IOMMU_FAULT_F_WRITE : spec.VIRTIO_IOMMU_FAULT_F_READ;
    const flags = mine.map((f) => `0x${f.flags.toString(16)}`).join(', ');
    this.#judgePart(FAULT_PART_STATEMENTS.flags, {
      holds: mine.every((f) => (f.flags & contrary) === 0),
      expected: `no ${access === 'read' ? 'WRITE' : 'READ'} flag in the reports of a ${access}`,
      message: `${describe} was blocked; flags of its fault reports: ${flags || 'none'}`,
    });
    const reason = constantValue(reasonName);
    this.#judgePart(FAULT_PART_STATEMENTS.reason, {
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
  #judgePart(
    statement: string | undefined,
    part: { holds: boolean; expected: string; message: string },
  ): void {
    const evidence = {
      expected: part.expected,
      message: `line ${this.line}: ${part.message}`,
    };
    if (statement !== undefined && statement !== this.statement) {
      this.findings.push({ statement, holds: part.holds, evidence });
      return;
    }
    if (part.holds) return;
    if (statement === undefined) {
      this.notes.push(`line ${this.line}: expected ${part.expected}; ${part.message}`);
      return;
    }
    throw new ExpectationFailure({ expected: part.expected, message: part.message });
  }
}

/** `VIRTIO_IOMMU_S_INVAL` → `S_INVAL`, as scenarios write it. */
export function shortName(name: string): string {
  return name.replace(/^VIRTIO_IOMMU_/, '');
}
