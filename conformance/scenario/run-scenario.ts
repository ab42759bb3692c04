// The scenario runner: executes the steps of one scenario (dist/cases.json, grammar in
// docs/spec-dialect.md) on a fresh device and says whether the device did what they expect.
// Requests go through the typed driver; DMA goes through edu and is judged by the bytes that
// arrive and by the fault reports on the event queue.

import * as spec from '../../dist/ts/index.js';
import type { Scenario, Step, Value } from '../../dist/ts/schemas/cases.js';
import { FieldError, requestName, type RequestVerb } from '../driver/requests.js';
import { placeLiterals, TargetProfile, type Literal } from '../profile.js';
import type { Session } from '../session.js';
import { featureBit } from '../virtio/constants.js';
import type { MemoryFinding, SuspectLine } from '../judge/dma-judge.js';
import { writePayload } from '../judge/payload.js';
import { sessionJudge } from '../judge/session-judge.js';
import { probeMapping, type ProbeFinding } from './boundary-probes.js';
import { DriverView, type Mapping } from './driver-view.js';
import { EduRoute } from './edu-route.js';
import {
  ExpectationFailure,
  InapplicableStep,
  SuiteError,
  UntestableStep,
  toHex,
  type Evidence,
} from './expectation.js';

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

/** What the boundary probes of a scenario's mappings found (probeScenarioMappings). */
export type ProbeRun =
  | {
      outcome: 'probed';
      /** Probe sets run, and edu transfers they took. */
      sets: number;
      transfers: number;
      findings: ProbeFinding[];
    }
  | { outcome: 'not-applicable' | 'untested'; reason: string };

const PAGE = 0x1000;

/** How long to wait for fault reports after a blocked access. */
export const FAULT_WAIT_MS = 300;

type RequestStep = Extract<Step, { op: 'request' }>;
type DmaStep = Extract<Step, { op: 'dma' }>;

/** Request fields and DMA step parts that hold an IOVA. */
const IOVA_FIELDS = new Set(['virt_start', 'virt_end', 'address']);

/** A constant of the generated module by name (`VIRTIO_IOMMU_S_OK`). */
export function constantValue(name: string): number {
  const value = spec.CONSTANTS_BY_NAME.get(name);
  if (value === undefined) throw new SuiteError(`${name} is not a constant of the spec`);
  return value;
}

/** Runs `scenario` on a session whose device has not been started yet. */
export async function runScenario(scenario: Scenario, session: Session): Promise<ScenarioOutcome> {
  const skip = notApplicable(scenario, session);
  if (skip !== undefined) return skip;
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

/**
 * Runs the requests of `scenario` (not its DMA steps) and probes the boundaries of every
 * mapping it makes (boundary-probes.ts), as soon as @ep is attached to the mapping's domain.
 * The scenario's own expectations belong to its statement: if one fails, the probes are
 * untested, since the device is then in a state the scenario does not describe.
 */
export async function probeScenarioMappings(
  scenario: Scenario,
  session: Session,
): Promise<ProbeRun> {
  const skip = notApplicable(scenario, session);
  if (skip !== undefined) return skip;
  if (session.driver.edu === undefined) {
    return { outcome: 'untested', reason: 'the target has no edu endpoint to issue DMA' };
  }
  const run = new ScenarioRun(scenario, session, true);
  try {
    await run.start();
    for (const step of scenario.steps) await run.step(step);
  } catch (error) {
    if (error instanceof UntestableStep) return { outcome: 'untested', reason: error.message };
    if (error instanceof InapplicableStep)
      return { outcome: 'not-applicable', reason: error.message };
    // A device that crashes or hangs, or a suite that breaks, is for the harness to judge.
    if (!(error instanceof ExpectationFailure)) throw error;
    const message = error.evidence.message;
    return {
      outcome: 'untested',
      reason: `${scenario.id} line ${run.line} did not go as the scenario expects (${message}), so its mappings were not probed`,
    };
  }
  const probes = run.probes;
  if (probes.sets === 0) {
    return {
      outcome: 'untested',
      reason: `no mapping of ${scenario.id} could be probed: ${probes.skipped.join('; ') || 'none is made while @ep is attached to its domain'}`,
    };
  }
  return { outcome: 'probed', ...probes };
}

/** Not applicable when the device lacks (or has) a feature the scenario `needs`. */
function notApplicable(
  scenario: Scenario,
  session: Session,
): { outcome: 'not-applicable'; reason: string } | undefined {
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
  return undefined;
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
  /** In probing mode: what the probes found, and mappings not probed yet. */
  readonly probes = {
    sets: 0,
    transfers: 0,
    findings: [] as ProbeFinding[],
    skipped: [] as string[],
  };
  readonly #unprobed: Array<{ mapping: Mapping; line: number }> = [];
  /** Added to every literal domain ID: domain_range.start when the literals lie outside it (profile.ts). */
  #domainShift = 0n;
  /** Added to every literal IOVA: input_range.start (64 KiB-aligned) when the literals lie outside it. */
  #iovaShift = 0n;
  /** Set once a refused UNMAP leaves what the domain maps unknown (it may have done part). */
  #mappingsUnknown: string | undefined;

  constructor(
    readonly scenario: Scenario,
    readonly session: Session,
    /** Probe every mapping's boundaries and skip the DMA steps (probeScenarioMappings). */
    readonly probing = false,
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
    this.#placeLiterals(config);
  }

  /** Moves literal domain IDs and IOVAs into the device's ranges where they lie outside (profile.ts). */
  #placeLiterals(config: spec.Config): void {
    const driver = this.session.driver;
    const domains: Literal[] = [];
    const iovas: Literal[] = [];
    let [domainSymbol, iovaSymbol] = [false, false];
    for (const step of this.scenario.steps) {
      const values: Array<[string, Value | undefined]> =
        step.op === 'request'
          ? Object.entries(step.fields)
          : step.op === 'dma'
            ? [['address', step.address]]
            : [];
      for (const [path, value] of values) {
        if (value === undefined) continue;
        const isDomain = path === 'domain';
        if (!isDomain && !IOVA_FIELDS.has(path)) continue;
        if ('num' in value)
          (isDomain ? domains : iovas).push({ value: BigInt(value.num), line: step.line });
        else if (isDomain) domainSymbol = true;
        else if (value.sym.startsWith('input_range')) iovaSymbol = true;
      }
    }
    const { domain_range, input_range } = config;
    const placements = [
      placeLiterals(
        'domain',
        domains,
        domainSymbol,
        driver.has(spec.VIRTIO_IOMMU_F_DOMAIN_RANGE)
          ? { start: BigInt(domain_range.start), end: BigInt(domain_range.end) }
          : undefined,
      ),
      placeLiterals(
        'IOVA',
        iovas,
        iovaSymbol,
        driver.has(spec.VIRTIO_IOMMU_F_INPUT_RANGE) ? input_range : undefined,
        0x1_0000n,
      ),
    ];
    for (const placement of placements) {
      if ('untested' in placement) throw new UntestableStep(placement.untested);
      if (placement.note !== undefined) this.notes.push(placement.note);
    }
    this.#domainShift = (placements[0] as { shift: bigint }).shift;
    this.#iovaShift = (placements[1] as { shift: bigint }).shift;
  }

  /** A value of the scenario: a literal domain ID or IOVA moved as #placeLiterals decided. */
  #placed(path: string, value: Value): bigint {
    const resolved = this.#value(value);
    if (!('num' in value)) return resolved;
    if (path === 'domain') return resolved + this.#domainShift;
    return IOVA_FIELDS.has(path) ? resolved + this.#iovaShift : resolved;
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
        if (this.probing) return;
        return this.#dma(step);
    }
  }

  #edgeRoute(): EduRoute {
    this.#route ??= new EduRoute(this.session, this.session.driver.edu!, this.#view);
    return this.#route;
  }

  /** Probes each mapping not probed yet whose domain @ep is now attached to. */
  async #probeMappings(): Promise<void> {
    const edu = this.session.driver.edu!;
    const domain = this.#view.domainOf(edu.endpointId);
    for (const entry of [...this.#unprobed]) {
      const m = entry.mapping;
      const live = this.#view.mappingsOf(m.domain).includes(m);
      if (!live || domain === undefined || domain.id !== m.domain || domain.bypass) continue;
      this.#unprobed.splice(this.#unprobed.indexOf(entry), 1);
      if (this.#mappingsUnknown !== undefined) {
        this.probes.skipped.push(this.#mappingsUnknown);
        continue;
      }
      const result = await probeMapping(
        {
          session: this.session,
          edu,
          route: this.#edgeRoute(),
          view: this.#view,
          judge: sessionJudge(this.session),
        },
        m,
      );
      if (!result.probed) {
        this.probes.skipped.push(result.reason);
        continue;
      }
      this.probes.sets++;
      this.probes.transfers += result.transfers;
      this.probes.findings.push(
        ...result.findings.map((f) => ({ ...f, text: `MAP of line ${entry.line}: ${f.text}` })),
      );
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
    for (const [path, value] of Object.entries(step.fields))
      fields[path] = this.#placed(path, value);
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
    if (!this.probing) return;
    if (result.status === spec.VIRTIO_IOMMU_S_OK && verb === 'map') {
      const mapping = this.#view.everMapped[this.#view.everMapped.length - 1]!;
      this.#unprobed.push({ mapping, line: step.line });
    }
    if (result.status !== spec.VIRTIO_IOMMU_S_OK && verb === 'unmap') {
      this.#mappingsUnknown ??= `after the refused UNMAP of line ${step.line} what the domain maps is not known`;
    }
    await this.#probeMappings();
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
    const route = this.#edgeRoute();
    const judge = sessionJudge(this.session);
    const iova = this.#placed('address', step.address);
    const length = step.length;
    const expect = step.expect;
    const expected = expect.result === 'ok' ? this.#value(expect.address) : undefined;
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
      ...this.#view.physicalAliases(iova).map((pa) => ({
        offset: 0,
        address: Number(pa),
        why: `where a mapping once put IOVA 0x${iova.toString(16)}`,
      })),
    ];
    if (expected !== undefined) judge.watch(expected, length);
    for (const line of suspects) judge.watch(line.address, length);
    const describe = `${step.access} of ${length} bytes at IOVA 0x${iova.toString(16)}`;
    const salt = `${this.scenario.id}:${step.line}`;
    await driver.collectEvents();
    let findings: MemoryFinding[];
    if (step.access === 'read') {
      await judge.prepare(salt);
      await edu.toDevice(iova, length);
      const faults = await this.#faults(expect);
      const arrived = await route.read(length);
      const sources =
        expected === undefined
          ? []
          : [{ offset: 0, length, address: Number(expected), required: true }];
      findings = judge.judgeRead({ label: describe, length, sources, suspects }, arrived);
      this.#judgeDma(describe, step.access, expect, findings, faults);
    } else {
      const payload = writePayload(salt, length);
      await route.load(payload);
      await judge.prepare(salt);
      await edu.fromDevice(iova, length);
      const faults = await this.#faults(expect);
      const landing =
        expected === undefined
          ? []
          : [{ offset: 0, length, address: Number(expected), required: true }];
      findings = await judge.judgeWrites([{ label: describe, payload, landing }]);
      this.#judgeDma(describe, step.access, expect, findings, faults);
    }
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
    findings: readonly MemoryFinding[],
    faults: spec.Fault[],
  ): void {
    if (findings.length > 0) {
      const failure = {
        expected:
          expect.result === 'ok'
            ? `the access reaches 0x${this.#value(expect.address).toString(16)}, and nothing else`
            : expect.result === 'fault'
              ? `blocked, fault ${shortName(expect.reason)}`
              : 'blocked',
        message: findings.map((f) => f.text).join('; '),
      };
      // A scenario of a statement about fault reports cannot judge them when the access was
      // not blocked; whether it may pass is for the isolation statements' own tests.
      if (expect.result === 'fault' && FAULT_STATEMENTS.has(this.statement))
        throw new UntestableStep(`${describe}: ${failure.message}, so there was no fault to judge`);
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
