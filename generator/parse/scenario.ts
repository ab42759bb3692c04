// Parses ` ```scenario ` blocks into steps (docs/spec-dialect.md, "Scenarios").
// Every name is resolved against the model here, so a scenario in dist/cases.json is runnable.

import type { DmaExpectation, RequestVerb, Step, Value } from '../model.js';
import {
  CONFIG_STRUCT,
  FAULT_REASON_GROUP,
  FEATURE_GROUP,
  NAME_PREFIX,
  STATUS_GROUP,
} from '../model-facts.js';
import { ModelIndex, didYouMean } from './model-index.js';

export interface ScenarioError {
  message: string;
  /** 0-based line in the block and column in that line. */
  line: number;
  column: number;
}

const VERBS: readonly RequestVerb[] = ['attach', 'detach', 'map', 'unmap', 'probe'];
/** Every step a line can start with. */
const STEPS: readonly string[] = [...VERBS, 'config', 'dma', 'reset', 'needs', 'features'];
export const SCENARIO_SYMBOLS: readonly string[] = [
  'ep',
  'ep2',
  'nonexistent',
  'ram',
  'page',
  'input_range.start',
  'input_range.end',
  'domain_range.start',
  'domain_range.end',
  'probe_size',
];
/** The symbols schemas/scenario-step.schema.json allows: SCENARIO_SYMBOLS, as a type. */
type ScenarioSymbol = Extract<Value, { sym: unknown }>['sym'];
const isScenarioSymbol = (name: string): name is ScenarioSymbol => SCENARIO_SYMBOLS.includes(name);

class StepError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

interface Word {
  text: string;
  column: number;
}

function words(line: string): Word[] {
  const out: Word[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], column: m.index });
  return out;
}

const hex = (n: bigint): string => `0x${n.toString(16)}`;

function parseNumber(text: string): bigint | undefined {
  return /^(0x[0-9a-f]+|[0-9]+)$/i.test(text) ? BigInt(text) : undefined;
}

export class ScenarioParser {
  constructor(
    private readonly index: ModelIndex,
    /** Structs that failed to lay out: their errors are reported already, so steps on them pass silently. */
    private readonly brokenStructs: ReadonlySet<string> = new Set(),
  ) {}

  parse(text: string): { steps: Step[]; errors: ScenarioError[] } {
    const steps: Step[] = [];
    const errors: ScenarioError[] = [];
    const lines = text.split('\n');
    let sawAction = false;
    lines.forEach((raw, lineIndex) => {
      const line = raw.replace(/#.*$/, '');
      if (!line.trim()) return;
      try {
        const step = this.parseLine(line, lineIndex + 1);
        if (step.op === 'features' && sawAction) {
          throw new StepError(
            '`features` must come before every step but `needs`',
            line.search(/\S/),
          );
        }
        if (step.op !== 'needs' && step.op !== 'features') sawAction = true;
        steps.push(step);
      } catch (e) {
        if (!(e instanceof StepError)) throw e;
        errors.push({ message: e.message, line: lineIndex, column: e.column });
      }
    });
    if (steps.length === 0 && errors.length === 0) {
      errors.push({ message: 'The scenario has no steps', line: 0, column: 0 });
    }
    return { steps, errors };
  }

  private parseLine(line: string, lineNo: number): Step {
    const arrow = line.indexOf('=>');
    const left = words(arrow < 0 ? line : line.slice(0, arrow));
    const right =
      arrow < 0
        ? []
        : words(line.slice(arrow + 2)).map((w) => ({ ...w, column: w.column + arrow + 2 }));
    if (arrow >= 0 && right.length === 0) throw new StepError('Nothing follows `=>`', arrow);
    const [verb, ...args] = left;
    const noExpectation = (): void => {
      if (arrow >= 0) throw new StepError(`\`${verb.text}\` takes no \`=>\` expectation`, arrow);
    };
    switch (verb.text) {
      case 'needs': {
        noExpectation();
        const offered: string[] = [];
        const notOffered: string[] = [];
        let minPage: string | undefined;
        for (const a of this.atLeastOne(args, verb)) {
          if (a.text.startsWith('@')) {
            minPage = this.minPage(a);
            continue;
          }
          const negated = a.text.startsWith('!');
          (negated ? notOffered : offered).push(this.feature(a, negated ? 1 : 0));
        }
        return {
          op: 'needs',
          offered,
          notOffered,
          ...(minPage !== undefined && { minPage }),
          line: lineNo,
        };
      }
      case 'features': {
        noExpectation();
        const accept: string[] = [];
        const decline: string[] = [];
        for (const a of this.atLeastOne(args, verb)) {
          if (a.text[0] !== '+' && a.text[0] !== '-') {
            throw new StepError(
              `Write \`+${a.text}\` to accept or \`-${a.text}\` to decline`,
              a.column,
            );
          }
          (a.text[0] === '+' ? accept : decline).push(this.feature(a, 1));
        }
        return { op: 'features', accept, decline, line: lineNo };
      }
      case 'reset':
        noExpectation();
        if (args.length) throw new StepError('`reset` takes no arguments', args[0].column);
        return { op: 'reset', line: lineNo };
      case 'config':
        return this.config(args, right, verb, lineNo);
      case 'dma':
        return this.dma(args, right, verb, lineNo);
      default:
        if ((VERBS as readonly string[]).includes(verb.text)) {
          return this.request(verb.text as RequestVerb, args, right, lineNo);
        }
        throw new StepError(
          `Unknown step \`${verb.text}\`; steps are ${STEPS.join(', ')}${didYouMean(verb.text, STEPS)}`,
          verb.column,
        );
    }
  }

  /** `@page>=N`: the page granularity the scenario assumes at least (hex). */
  private minPage(word: Word): string {
    const m = /^@page>=(.+)$/.exec(word.text);
    const n = m ? parseNumber(m[1]) : undefined;
    if (n === undefined || n < 1n) {
      throw new StepError(
        `\`${word.text}\` is no precondition; write \`@page>=N\` (the page granularity is at least N bytes) or a feature`,
        word.column,
      );
    }
    return hex(n);
  }

  private atLeastOne(args: Word[], verb: Word): Word[] {
    if (args.length === 0)
      throw new StepError(`\`${verb.text}\` needs at least one feature`, verb.column);
    return args;
  }

  private groupMember(text: string, group: string, column: number, what: string): string {
    const c = this.index.constant(text) ?? this.index.constants.get(group + text);
    if (!c || c.group !== group) {
      const members = [...this.index.constants.values()]
        .filter((k) => k.group === group)
        .map((k) => k.name);
      throw new StepError(
        `\`${text}\` is not a ${what}${didYouMean(group + text, members)}`,
        column,
      );
    }
    return c.name;
  }

  private feature(word: Word, skip: number): string {
    return this.groupMember(
      word.text.slice(skip),
      FEATURE_GROUP,
      word.column + skip,
      'feature bit (`VIRTIO_IOMMU_F_*`)',
    );
  }

  /** A value: number, constant names joined by `|`, or `@symbol[+-N]`. */
  private value(text: string, column: number): Value {
    if (text.startsWith('@')) {
      const m = /^@([a-z_0-9.]+?)(?:([+-])(0x[0-9a-f]+|[0-9]+))?$/i.exec(text);
      if (!m || !isScenarioSymbol(m[1])) {
        throw new StepError(
          `Unknown symbol \`${text}\`; symbols are ${SCENARIO_SYMBOLS.map((s) => '@' + s).join(', ')}${didYouMean(m?.[1] ?? text.slice(1), SCENARIO_SYMBOLS)}`,
          column,
        );
      }
      const sym = m[1];
      return m[2] ? { sym, offset: (m[2] === '-' ? '-' : '') + hex(BigInt(m[3])) } : { sym };
    }
    let total = 0n;
    const names: string[] = [];
    for (const part of text.split('|')) {
      const n = parseNumber(part);
      if (n !== undefined) {
        total |= n;
        continue;
      }
      const c = this.index.constant(part);
      if (!c) {
        throw new StepError(
          `\`${part}\` is neither a number nor a constant${didYouMean(
            part,
            [...this.index.constants.keys()].map((k) =>
              k.startsWith(NAME_PREFIX) ? k.slice(NAME_PREFIX.length) : k,
            ),
          )}`,
          column,
        );
      }
      total |= BigInt(c.value);
      names.push(c.name);
    }
    return names.length ? { num: hex(total), name: names.join('|') } : { num: hex(total) };
  }

  private request(verb: RequestVerb, args: Word[], right: Word[], lineNo: number): Step {
    const struct = `virtio_iommu_req_${verb}`;
    const paths = this.index.fieldPaths(struct);
    const fields: Record<string, Value> = {};
    if (this.brokenStructs.has(struct))
      return { op: 'request', verb, struct, fields, line: lineNo };
    if (!this.index.structs.has(struct)) {
      throw new StepError(`The spec defines no \`struct ${struct}\` for \`${verb}\` steps`, 0);
    }
    for (const a of args) {
      const eq = a.text.indexOf('=');
      if (eq <= 0) throw new StepError(`Expected \`field=value\`, found \`${a.text}\``, a.column);
      const name = a.text.slice(0, eq);
      const path = paths.get(name);
      if (!path || path.part !== 'readable') {
        const readable = [...paths.values()]
          .filter((p) => p.part === 'readable')
          .map((p) => p.path);
        throw new StepError(
          `${verb.toUpperCase()} request: field \`${name}\` is not in its device-readable part${didYouMean(name, readable)}`,
          a.column,
        );
      }
      if (name in fields) throw new StepError(`Field \`${name}\` is set twice`, a.column);
      const value = this.value(a.text.slice(eq + 1), a.column + eq + 1);
      if ('num' in value) {
        const limit = path.bits
          ? 1n << BigInt(path.bits.width)
          : 1n << BigInt(8 * Math.min(path.size, 8));
        if (BigInt(value.num) >= limit) {
          throw new StepError(`${value.num} does not fit in field \`${name}\``, a.column + eq + 1);
        }
      }
      fields[name] = value;
    }
    const step: Step = { op: 'request', verb, struct, fields, line: lineNo };
    if (right.length) step.expect = this.requestExpectation(right);
    return step;
  }

  private requestExpectation(right: Word[]) {
    const [first, ...rest] = right;
    if (first.text === 'any') {
      if (rest.length) throw new StepError('`any` stands alone', rest[0].column);
      return {};
    }
    if (first.text === 'used_len') {
      const n = rest.length === 1 ? parseNumber(rest[0].text) : undefined;
      if (n === undefined) throw new StepError('Write `=> used_len N`', first.column);
      return { usedLen: Number(n) };
    }
    if (rest.length)
      throw new StepError(
        'A status expectation is one word: `S_OK` or `S_OK|S_INVAL`',
        rest[0].column,
      );
    const status = first.text
      .split('|')
      .map((s) => this.groupMember(s, STATUS_GROUP, first.column, 'status (`VIRTIO_IOMMU_S_*`)'));
    return { status };
  }

  private configField(word: Word): string {
    if (this.brokenStructs.has(CONFIG_STRUCT)) return word.text;
    const paths = this.index.fieldPaths(CONFIG_STRUCT);
    if (!paths.has(word.text)) {
      throw new StepError(
        `\`${word.text}\` is not a field of \`${CONFIG_STRUCT}\`${didYouMean(word.text, paths.keys())}`,
        word.column,
      );
    }
    return word.text;
  }

  private config(args: Word[], right: Word[], verb: Word, lineNo: number): Step {
    if (args.length !== 1)
      throw new StepError('Write `config FIELD => VALUES` or `config FIELD=VALUE`', verb.column);
    const arg = args[0];
    const eq = arg.text.indexOf('=');
    if (eq > 0) {
      if (right.length)
        throw new StepError('A config write takes no `=>` expectation', right[0].column);
      const field = this.configField({ text: arg.text.slice(0, eq), column: arg.column });
      return {
        op: 'config-write',
        field,
        value: this.value(arg.text.slice(eq + 1), arg.column + eq + 1),
        line: lineNo,
      };
    }
    const field = this.configField(arg);
    if (right.length !== 1)
      throw new StepError('Write `config FIELD => V|V` or `=> nonzero`', verb.column);
    const expect =
      right[0].text === 'nonzero'
        ? ('nonzero' as const)
        : right[0].text.split('|').map((v) => this.value(v, right[0].column));
    return { op: 'config-read', field, expect, line: lineNo };
  }

  private dma(args: Word[], right: Word[], verb: Word, lineNo: number): Step {
    if (args.length !== 4)
      throw new StepError('Write `dma @ep read|write ADDR LEN => RESULT`', verb.column);
    const [ep, access, addr, len] = args;
    if (access.text !== 'read' && access.text !== 'write') {
      throw new StepError(
        `DMA access is \`read\` or \`write\`, not \`${access.text}\``,
        access.column,
      );
    }
    const length = parseNumber(len.text);
    if (length === undefined || length < 1n || length > 4096n) {
      throw new StepError('DMA length is a number from 1 to 4096', len.column);
    }
    if (right.length === 0)
      throw new StepError(
        'A DMA step needs `=> ok PA`, `=> blocked` or `=> fault REASON`',
        verb.column,
      );
    const [result, ...rest] = right;
    let expect: DmaExpectation;
    if (result.text === 'ok' && rest.length === 1) {
      expect = { result: 'ok', address: this.value(rest[0].text, rest[0].column) };
    } else if (result.text === 'blocked' && rest.length === 0) {
      expect = { result: 'blocked' };
    } else if (result.text === 'fault' && rest.length === 1) {
      expect = {
        result: 'fault',
        reason: this.groupMember(rest[0].text, FAULT_REASON_GROUP, rest[0].column, 'fault reason'),
      };
    } else {
      throw new StepError('Expected `=> ok PA`, `=> blocked` or `=> fault REASON`', result.column);
    }
    return {
      op: 'dma',
      endpoint: this.value(ep.text, ep.column),
      access: access.text,
      address: this.value(addr.text, addr.column),
      length: Number(length),
      expect,
      line: lineNo,
    };
  }
}
