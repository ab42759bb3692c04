// The mutation runner's own logic (npm run mutation runs no mutant here): which mutants a
// source gives and which it leaves alone, how a run is judged against the clean run, the
// equivalence list's matching, the seeded sample, and that a module compiled alone is what
// the build gave (so a mutant changes only its own span).

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { planAgain, readEarlierRun } from '../mutation/again.js';
import { judge, tally } from '../mutation/classify.js';
import { equivalenceOf, mutantKey, type EquivalentMutant } from '../mutation/equivalents.js';
import { applyMutant, findMutants, type Mutant } from '../mutation/operators.js';
import { sampleOf } from '../mutation/sample.js';
import { mutantsAt, NOT_DEVICE_CODE, sourceFiles } from '../mutation/select.js';
import type { MutantResult } from '../mutation/run.js';
import { compileModule } from '../mutation/sandbox.js';
import { statementsNear } from '../mutation/statements-near.js';
import type {
  ConformanceReport,
  RobustnessProbe as RobustnessFinding,
  StatementVerdict,
} from '../../dist/ts/schemas/conformance-report.js';
import { PLATFORM_BROKEN } from '../suite/platform-checks.js';
import { summarizeVerdicts } from '../report/summary.js';

const SOURCE = `import type { Core } from './core.js';
// dev.map.alignment
export function check(core: Core, start: bigint, flags: number): number {
  if (start % 4096n !== 0n) {
    core.findings.report('drv.map.align', \`start \${start + 1n} is not aligned\`);
    return 1;
  }
  const label = 'flags ' + flags;
  if (flags > 7) throw new Error(\`bad flags \${flags + 1}\`);
  core.count++;
  return flags & 3;
}
`;

const find = (mutants: Mutant[], mutator: string, replacement: string): Mutant | undefined =>
  mutants.find((m) => m.mutator === mutator && m.replacement === replacement);

describe('mutation: operators', () => {
  const mutants = findMutants('device-ref/x.ts', SOURCE);

  it('swaps operators, forces conditions, bumps constants, removes statements and blocks', () => {
    assert.ok(find(mutants, 'EqualityOperator', 'start % 4096n === 0n'));
    assert.ok(find(mutants, 'ArithmeticOperator', 'start * 4096n'));
    assert.ok(find(mutants, 'BitwiseOperator', 'flags | 3'));
    assert.ok(find(mutants, 'EqualityOperator', 'flags >= 7'));
    assert.ok(find(mutants, 'ConditionalExpression', 'true'));
    assert.ok(find(mutants, 'NumberLiteral', '4097n'));
    assert.ok(find(mutants, 'UpdateOperator', 'core.count--'));
    assert.ok(find(mutants, 'StatementRemoval', ';'));
    assert.ok(find(mutants, 'BlockStatement', '{}'));
  });

  it('leaves types, string concatenation, thrown errors and finding messages alone', () => {
    const touched = (text: string): Mutant[] =>
      mutants.filter(
        (m) =>
          m.original.includes(text) &&
          m.mutator !== 'BlockStatement' &&
          m.mutator !== 'ConditionalExpression',
      );
    assert.deepEqual(touched("'flags ' + flags"), []);
    assert.deepEqual(touched('start + 1n'), []);
    assert.deepEqual(touched('flags + 1'), []);
    assert.ok(!mutants.some((m) => m.original.startsWith('core.findings.report')));
    assert.ok(!mutants.some((m) => m.original.includes('Core }')));
  });

  it('leaves alone what only decides a driver finding, not what also changes behaviour', () => {
    const gates = findMutants(
      'device-ref/y.ts',
      `export function gate(t: T, a: number, b: number): number {
  if (a > b) t.finding('a above b');
  if (a < 2) {
    this.#findings.add({ message: 'small' });
  } else {
    this.#finding('large');
  }
  if (t.size() > 3) t.finding('called');
  if (t.negotiated(4) && !isAllZero(t.reserved)) t.finding('queried');
  if (a === b) {
    t.finding('equal');
    return 1;
  }
  return 0;
}
`,
    );
    // Mutants on `text`, but for the removal of the function's whole body.
    const on = (text: string): Mutant[] =>
      gates.filter((m) => m.original.includes(text) && !m.original.includes('return 0'));
    assert.deepEqual(on('a > b'), []);
    assert.deepEqual(on('a < 2'), []);
    assert.deepEqual(on("{ message: 'small' }"), []);
    assert.deepEqual(on('t.negotiated(4)'), []);
    // A condition that calls more than a query may change state; one whose branch returns decides more.
    assert.ok(find(on('t.size() > 3'), 'EqualityOperator', 't.size() >= 3'));
    assert.ok(find(on('a === b'), 'ConditionalExpression', 'false'));
    assert.ok(on("t.finding('equal');\n    return 1;").some((m) => m.mutator === 'BlockStatement'));
  });

  it('applies a mutant to its span only, and refuses a source that changed', () => {
    const mutant = find(mutants, 'BitwiseOperator', 'flags | 3')!;
    const mutated = applyMutant(SOURCE, mutant);
    assert.equal(mutated, SOURCE.replace('return flags & 3;', 'return flags | 3;'));
    assert.throws(() => applyMutant(`// moved\n${SOURCE}`, mutant), /source changed/);
  });

  it('finds the statement IDs cited above a mutant', () => {
    assert.deepEqual(statementsNear(SOURCE, find(mutants, 'BitwiseOperator', 'flags | 3')!.line), [
      'dev.map.alignment',
    ]);
  });
});

describe('mutation: judging a run against the clean run', () => {
  const verdict = (statement: string, v: StatementVerdict['verdict']): StatementVerdict => ({
    statement,
    level: 'MUST',
    verdict: v,
    tests: [],
  });
  const report = (
    verdicts: StatementVerdict[],
    probe: RobustnessFinding['outcome'] = 'ok',
  ): ConformanceReport => {
    const robustness: ConformanceReport['robustness'] = [
      { probe: 'flood', outcome: probe, durationMs: 1 },
    ];
    return {
      tool: { name: 't', version: '0' },
      target: { name: 'ref', description: 'ref' },
      startedAt: '',
      durationMs: 1,
      verdicts,
      summary: summarizeVerdicts(verdicts, robustness),
      robustness,
    };
  };
  const clean = report([
    verdict('dev.a', 'pass'),
    verdict('dev.b', 'pass'),
    verdict('dev.c', 'fail'),
  ]);
  const run = (r?: ConformanceReport, timedOut = false) => ({
    code: 0,
    report: r,
    timedOut,
    stderr: 'boom\n',
  });

  it('kills a mutant that fails a statement the clean run passed, and names it', () => {
    const j = judge(
      clean,
      run(report([verdict('dev.a', 'fail'), verdict('dev.b', 'pass'), verdict('dev.c', 'fail')])),
    );
    assert.deepEqual([j.status, j.failed], ['killed', ['dev.a']]);
  });

  it('lets one survive whose verdicts only moved, or failed where the clean run failed too', () => {
    const j = judge(
      clean,
      run(
        report([
          verdict('dev.a', 'not-applicable'),
          verdict('dev.b', 'pass'),
          verdict('dev.c', 'fail'),
        ]),
      ),
    );
    assert.deepEqual(
      [j.status, j.failed, j.moved],
      ['survived', [], ['dev.a: pass → not-applicable']],
    );
  });

  it("never kills on the suite's own errors, but does on a device that stops answering", () => {
    const errored = judge(
      clean,
      run(
        report(
          [verdict('dev.a', 'error'), verdict('dev.b', 'pass'), verdict('dev.c', 'fail')],
          'error',
        ),
      ),
    );
    assert.deepEqual(
      [errored.status, errored.failed, errored.moved],
      ['survived', [], ['dev.a: pass → error']],
    );
    const unreachable = {
      ...report(clean.verdicts.map((v) => ({ ...v, verdict: 'error' as const }))),
      stopped: 'the target did not answer for 3 tests in a row (no answer)',
    };
    const stopped = judge(clean, run(unreachable));
    assert.deepEqual(
      [stopped.status, stopped.note],
      [
        'killed',
        'the run stopped early: the target did not answer for 3 tests in a row (no answer)',
      ],
    );
    const platform = judge(
      clean,
      run(
        report([
          {
            ...verdict('dev.a', 'error'),
            reason: `SuiteError: ${PLATFORM_BROKEN}: 0xcf9 kept 0x0`,
          },
          verdict('dev.b', 'pass'),
          verdict('dev.c', 'fail'),
        ]),
      ),
    );
    assert.deepEqual([platform.status, platform.failed], ['killed', ['dev.a: platform check']]);
    for (const outcome of ['crash', 'hang', 'broken', 'isolation-breach'] as const)
      assert.equal(judge(clean, run(report(clean.verdicts, outcome))).status, 'killed', outcome);
  });

  it('kills on a new robustness finding and on a run without a report; a hang is a timeout', () => {
    assert.equal(judge(clean, run(report(clean.verdicts, 'crash'))).status, 'killed');
    const crashed = judge(clean, run(undefined));
    assert.deepEqual([crashed.status, crashed.note], ['killed', 'no report (exit 0): boom']);
    assert.equal(judge(clean, run(clean, true)).status, 'timeout');
  });

  it('scores killed and timeout over the non-equivalent mutants', () => {
    assert.deepEqual(tally(['killed', 'killed', 'timeout', 'survived', 'equivalent']), {
      killed: 2,
      survived: 1,
      timeout: 1,
      equivalent: 1,
      conforming: 0,
      total: 5,
      score: 75,
      nonConformingScore: 75,
    });
    assert.equal(tally(['equivalent']).score, undefined);
  });

  it('counts conforming survivors as survivors in the score, and leaves them out of the other', () => {
    const t = tally(['killed', 'killed', 'timeout', 'survived', 'conforming', 'equivalent']);
    assert.equal(t.conforming, 1);
    assert.equal(t.score, 60);
    assert.equal(t.nonConformingScore, 75);
    assert.equal(tally(['conforming', 'equivalent']).nonConformingScore, undefined);
  });
});

describe('mutation: equivalence list', () => {
  it('matches by file, line text, original and replacement, wherever the line moved', () => {
    const mutant = find(findMutants('device-ref/x.ts', SOURCE), 'BitwiseOperator', 'flags | 3')!;
    const entry: EquivalentMutant = { ...mutantKey(mutant, SOURCE), reason: 'because' };
    assert.deepEqual(
      { ...entry },
      {
        file: 'device-ref/x.ts',
        line: 'return flags & 3;',
        original: 'flags & 3',
        replacement: 'flags | 3',
        reason: 'because',
      },
    );
    const moved = `// a new first line\n\n${SOURCE}`;
    const again = find(findMutants('device-ref/x.ts', moved), 'BitwiseOperator', 'flags | 3')!;
    assert.notEqual(again.line, mutant.line);
    assert.equal(equivalenceOf(again, moved, [entry]), 'because');
    const other = find(findMutants('device-ref/x.ts', SOURCE), 'EqualityOperator', 'flags >= 7')!;
    assert.equal(equivalenceOf(other, SOURCE, [entry]), undefined);
    assert.equal(equivalenceOf({ ...mutant, file: 'device-ref/y.ts' }, SOURCE, [entry]), undefined);
  });

  it('tells two mutants of one line with the same text apart by column, when an entry names one', () => {
    const twice = 'export const f = (x: number): number => x + 1 + (x + 1);\n';
    const ones = findMutants('device-ref/x.ts', twice).filter(
      (m) => m.mutator === 'ArithmeticOperator' && m.original === 'x + 1',
    );
    assert.equal(ones.length, 2);
    const [first, second] = ones as [Mutant, Mutant];
    assert.equal(mutantKey(first, twice).line, mutantKey(second, twice).line);
    const entry: EquivalentMutant = {
      ...mutantKey(second, twice),
      column: second.column,
      reason: 'the second only',
    };
    assert.equal(equivalenceOf(second, twice, [entry]), 'the second only');
    assert.equal(equivalenceOf(first, twice, [entry]), undefined);
    const everywhere: EquivalentMutant = { ...mutantKey(second, twice), reason: 'both' };
    assert.equal(equivalenceOf(first, twice, [everywhere]), 'both');
  });
});

describe('mutation: choosing mutants', () => {
  const mutants = findMutants('device-ref/x.ts', SOURCE);

  it('picks the mutants at FILE:LINE or FILE:LINE:COLUMN, and refuses a place that holds none', () => {
    const flags = find(mutants, 'BitwiseOperator', 'flags | 3')!;
    const onLine = mutantsAt(mutants, [`device-ref/x.ts:${flags.line}`]);
    assert.ok(onLine.length >= 2 && onLine.every((m) => m.line === flags.line));
    assert.ok(onLine.includes(flags));
    const exact = mutantsAt(mutants, [`device-ref/x.ts:${flags.line}:${flags.column}`]);
    assert.ok(exact.includes(flags) && exact.every((m) => m.column === flags.column));
    assert.throws(() => mutantsAt(mutants, ['device-ref/x.ts:99']), /no mutant there/);
    assert.throws(() => mutantsAt(mutants, ['x.ts']), /FILE:LINE/);
  });

  it("mutates device-ref's sources, not its tests; code the device never runs is known by name", async () => {
    const files = await sourceFiles(packageRoot, ['device-ref/iommu/**/*.ts']);
    assert.ok(files.includes('device-ref/iommu/core.ts'));
    assert.ok(!files.some((f) => f.includes('/test/')));
    for (const file of NOT_DEVICE_CODE.keys()) assert.ok(files.includes(file), file);
  });
});

describe('mutation: judging an earlier run again (--again)', () => {
  const mutants = findMutants('device-ref/x.ts', SOURCE);
  const lineOf =
    (source: string) =>
    (m: Mutant): string =>
      mutantKey(m, source).line;
  const as = (m: Mutant, status: MutantResult['status']): MutantResult => ({
    file: m.file,
    line: m.line,
    lineText: lineOf(SOURCE)(m),
    column: m.column,
    mutator: m.mutator,
    original: m.original,
    replacement: m.replacement,
    status,
    failed: status === 'killed' ? ['dev.map.alignment'] : [],
    moved: [],
    near: [],
  });
  const [killed, survived, equivalent, timedOut] = [
    find(mutants, 'BitwiseOperator', 'flags | 3')!,
    find(mutants, 'EqualityOperator', 'flags >= 7')!,
    find(mutants, 'UpdateOperator', 'core.count--')!,
    find(mutants, 'NumberLiteral', '4097n')!,
  ];
  const earlier = [
    as(killed, 'killed'),
    as(survived, 'survived'),
    as(equivalent, 'equivalent'),
    as(timedOut, 'timeout'),
  ];

  it('carries killed and timed-out mutants over, and judges survivors and equivalents again', () => {
    const plan = planAgain(earlier, mutants, lineOf(SOURCE));
    assert.deepEqual(
      plan.carried.map((r) => [r.replacement, r.status, r.carried]),
      [
        ['flags | 3', 'killed', true],
        ['4097n', 'timeout', true],
      ],
    );
    assert.deepEqual(plan.rerun, [survived, equivalent]);
    assert.deepEqual(plan.gone, []);
  });

  it('names the mutants whose code changed since, whatever their status, and scores none of them', () => {
    const changed = SOURCE.replace('flags > 7', 'flags > 8').replace('flags & 3', 'flags & 1');
    const plan = planAgain(earlier, findMutants('device-ref/x.ts', changed), lineOf(changed));
    assert.deepEqual(
      plan.gone.map((r) => r.replacement),
      ['flags | 3', 'flags >= 7'],
    );
    assert.deepEqual(
      plan.carried.map((r) => r.replacement),
      ['4097n'],
    );
    assert.deepEqual(
      plan.rerun.map((m) => m.replacement),
      ['core.count--'],
    );
  });

  it('finds a mutant whose line moved by its text; a report without line texts by line number', () => {
    const moved = `// two lines\n// above it all\n${SOURCE}`;
    const today = findMutants('device-ref/x.ts', moved);
    const plan = planAgain(earlier, today, lineOf(moved));
    assert.deepEqual(plan.gone, []);
    assert.deepEqual(
      plan.rerun.map((m) => [m.replacement, m.line]),
      [
        ['flags >= 7', survived.line + 2],
        ['core.count--', equivalent.line + 2],
      ],
    );
    const withoutText = earlier.map(({ lineText: _, ...rest }) => rest);
    assert.equal(planAgain(withoutText, today, lineOf(moved)).gone.length, 4);
    assert.equal(planAgain(withoutText, mutants, lineOf(SOURCE)).gone.length, 0);
  });

  it('reads only a finished report whose every mutant is well formed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'again-'));
    try {
      const write = async (name: string, data: unknown): Promise<string> => {
        const path = join(dir, name);
        await writeFile(path, typeof data === 'string' ? data : JSON.stringify(data));
        return path;
      };
      const good = await write('good.json', { complete: true, mutants: earlier });
      assert.deepEqual(await readEarlierRun(good), earlier);
      const unfinished = await write('unfinished.json', { complete: false, mutants: earlier });
      await assert.rejects(readEarlierRun(unfinished), /did not finish/);
      await assert.rejects(readEarlierRun(await write('list.json', [])), /not a mutation report/);
      await assert.rejects(readEarlierRun(await write('text.json', 'killed: 3')), /again .*JSON/);
      const badStatus = [
        { ...earlier[0]!, status: 'dead' },
        { ...earlier[1]!, line: '7' },
      ];
      await assert.rejects(
        readEarlierRun(await write('bad.json', { complete: true, mutants: badStatus })),
        /mutant 0 has no valid status/,
      );
      const badLine = [earlier[0]!, { ...earlier[1]!, line: '7' }];
      await assert.rejects(
        readEarlierRun(await write('line.json', { complete: true, mutants: badLine })),
        /mutant 1 has no valid line/,
      );
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('mutation: sampling', () => {
  const items = Array.from({ length: 1000 }, (_, i) => i);

  it('gives the same sample for the same seed, another for another seed, in list order', () => {
    const first = sampleOf(items, 50, 7);
    assert.deepEqual(sampleOf(items, 50, 7), first);
    assert.notDeepEqual(sampleOf(items, 50, 8), first);
    assert.equal(new Set(first).size, 50);
    assert.deepEqual(
      [...first].sort((a, b) => a - b),
      first,
    );
  });

  it('draws from the whole list, and a smaller sample is part of a larger one', () => {
    const sample = sampleOf(items, 200, 1);
    assert.ok(sample.some((i) => i < 100) && sample.some((i) => i >= 900));
    const small = new Set(sampleOf(items, 20, 1));
    assert.ok([...small].every((i) => sample.includes(i)));
    assert.deepEqual(sampleOf(items.slice(0, 3), 10, 1), [0, 1, 2]);
  });
});

describe('mutation: compiling one module alone', () => {
  it('gives what the build gave, for a device-ref module', async () => {
    const file = 'device-ref/iommu/map.ts';
    const source = await readFile(join(packageRoot, file), 'utf8');
    const built = await readFile(join(packageRoot, 'build', file.replace(/\.ts$/, '.js')), 'utf8');
    assert.equal(
      compileModule(source, file),
      built.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'),
    );
  });
});
