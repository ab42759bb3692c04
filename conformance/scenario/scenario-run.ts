// One run of a scenario's steps on a started device: features, literal placement, requests
// through the typed driver (and the driver's view of what the device now maps), config reads
// and writes, resets, DMA steps (dma-step.ts), and in probing mode the boundary probes of
// every mapping as soon as @ep is attached to its domain.

import * as spec from '../../dist/ts/index.js';
import type { Scenario, Step, Value } from '../../dist/ts/schemas/cases.js';
import { FieldError, requestName, type RequestVerb } from '../driver/requests.js';
import { sessionJudge } from '../judge/session-judge.js';
import { placeLiterals, TargetProfile, type Literal } from '../profile.js';
import type { Session } from '../session.js';
import { featureBit } from '../virtio/constants.js';
import { probeMapping, type ProbeFinding } from './boundary-probes.js';
import { runDmaStep, type DmaStepContext, type PartFinding } from './dma-step.js';
import { DriverView, type Mapping } from './driver-view.js';
import { EduRoute } from './edu-route.js';
import {
  ExpectationFailure,
  InapplicableStep,
  SuiteError,
  UntestableStep,
  toHex,
} from './expectation.js';
import { constantValue, shortName } from './spec-names.js';

/** A request whose expectation allowed several statuses, and the one the device wrote. */
export interface Choice {
  line: number;
  request: string;
  status: string;
}

type RequestStep = Extract<Step, { op: 'request' }>;

/** Request fields and DMA step parts that hold an IOVA. */
const IOVA_FIELDS = new Set(['virt_start', 'virt_end', 'address']);

export class ScenarioRun {
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
        return runDmaStep(this.#dmaContext(), step);
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

  #dmaContext(): DmaStepContext {
    return {
      session: this.session,
      scenarioId: this.scenario.id,
      statement: this.statement,
      line: this.line,
      view: this.#view,
      route: () => this.#edgeRoute(),
      value: (value) => this.#value(value),
      placed: (path, value) => this.#placed(path, value),
      findings: this.findings,
      notes: this.notes,
    };
  }
}
