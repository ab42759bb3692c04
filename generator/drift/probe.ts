// Measures a header's real ABI without running anything from it: compiles the probe
// (probe-source.ts) to an object file with the C compiler ($CC, else cc, or any cross
// compiler), within limits and in a temporary folder that goes away on every way out, then
// reads sizeof, offsetof and the macro values from the object's data (elf-object.ts). A
// macro that is not an integer constant expression is left out and named. Without a
// compiler the caller falls back to the header's text.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ElfError, readElfSymbol, uint64Words } from './elf-object.js';
import { cleanupOnExitSignal } from './exit-signals.js';
import type { ParsedHeader } from './parse-header.js';
import { measurableMacros, PROBE_SYMBOL, probeSource, type ProbeSource } from './probe-source.js';
import { DEFAULT_LIMITS, limitInMessages, runLimited, type Limits } from './run-limited.js';

export interface StructLayout {
  size: number;
  /** Offset and size (undefined for a flexible array member) of each field. */
  fields: Map<string, { offset: number; size?: number }>;
}

export interface Measurements {
  structs: Map<string, StructLayout>;
  values: Map<string, bigint>;
}

export interface ProbeTarget {
  machine: string;
  bits: 32 | 64;
  littleEndian: boolean;
}

export type ProbeOutcome =
  | {
      kind: 'measured';
      compiler: string;
      target: ProbeTarget;
      measurements: Measurements;
      /** Object-like macros with no integer constant value, which are left unmeasured. */
      notIntegers: string[];
    }
  | { kind: 'no-compiler'; compiler: string }
  | { kind: 'failed'; compiler: string; message: string };

const SOURCE = 'probe.c';
const OBJECT = 'probe.o';
/** Lines of compiler messages quoted in an error. */
const QUOTED_LINES = 20;

function quote(messages: string, most = QUOTED_LINES): string {
  const lines = messages.trim().split('\n');
  const shown = lines.slice(0, most).join('\n');
  return lines.length > most ? `${shown}\n… (${lines.length - most} more lines)` : shown;
}

/**
 * The macros whose probe lines the errors are about, or undefined when an error is about
 * anything else (the header itself, a struct or a field): then the probe cannot be saved.
 */
function macrosInErrors(messages: string, source: ProbeSource): Set<string> | undefined {
  const macroAt = new Map<number, string>();
  for (const l of source.lines) if (l.item.kind === 'macro') macroAt.set(l.line, l.item.name);
  const groups: string[][] = [];
  for (const line of messages.split('\n')) {
    if (/\b(?:fatal )?error:/.test(line)) groups.push([line]);
    else groups[groups.length - 1]?.push(line);
  }
  const names = new Set<string>();
  for (const group of groups) {
    const lines = group.flatMap((l) =>
      [...l.matchAll(/\bprobe\.c:(\d+)\b/g)].map((m) => Number(m[1])),
    );
    const macros = lines.map((n) => macroAt.get(n)).filter((n): n is string => n !== undefined);
    if (macros.length === 0) return undefined;
    for (const m of macros) names.add(m);
  }
  return names.size > 0 ? names : undefined;
}

function readMeasurements(
  words: bigint[],
  source: ProbeSource,
): { measurements: Measurements; notIntegers: string[] } {
  const structs = new Map<string, StructLayout>();
  const values = new Map<string, bigint>();
  const notIntegers: string[] = [];
  for (const { item, index } of source.lines) {
    const at = (k: number) => words[index + k];
    if (item.kind === 'struct')
      structs.set(item.struct, { size: Number(at(0)), fields: new Map() });
    else if (item.kind === 'field')
      structs.get(item.struct)?.fields.set(item.field, {
        offset: Number(at(0)),
        ...(item.flexible ? {} : { size: Number(at(1)) }),
      });
    else if (at(0) === 0n) notIntegers.push(item.name);
    else values.set(item.name, at(1) !== 0n ? at(2) - 2n ** 64n : at(2));
  }
  return { measurements: { structs, values }, notIntegers };
}

export async function probeHeader(
  headerPath: string,
  header: ParsedHeader,
  compiler = process.env.CC || 'cc',
  limits: Limits = DEFAULT_LIMITS,
): Promise<ProbeOutcome> {
  const name = basename(headerPath);
  if (!/^[\w.+-]+$/.test(name)) {
    return {
      kind: 'failed',
      compiler,
      message: `cannot include a header named ${JSON.stringify(name)}; copy it to a name of letters, digits and . _ + -`,
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'viommu-drift-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const releaseSignals = cleanupOnExitSignal(removeDir);
  const failed = (message: string): ProbeOutcome => ({ kind: 'failed', compiler, message });
  try {
    let macros = measurableMacros(header);
    // Object-like macros with a value the probe cannot even try (unbalanced brackets).
    const skipped = header.defines
      .filter((d) => !d.functionLike && d.body !== '' && !macros.includes(d.name))
      .map((d) => d.name);
    // A second pass leaves out the macros the first one's errors were about.
    for (let pass = 1; ; pass++) {
      const source = probeSource(header, name, macros);
      writeFileSync(join(dir, SOURCE), source.text);
      rmSync(join(dir, OBJECT), { force: true });
      const run = await runLimited(
        compiler,
        [
          '-std=gnu11',
          '-w',
          '-pipe',
          '-c',
          '-iquote',
          dirname(resolve(headerPath)),
          '-o',
          OBJECT,
          SOURCE,
        ],
        { cwd: dir, env: { ...process.env, TMPDIR: dir, LC_ALL: 'C' }, limits },
      );
      if (run.kind === 'not-found') return { kind: 'no-compiler', compiler };
      if (run.kind === 'stopped') {
        return failed(
          `the C compiler (${compiler}) was stopped: ${run.reason}${run.messages.trim() ? `\n${quote(run.messages, 4)}` : ''}`,
        );
      }
      if (run.status !== 0) {
        const limit = limitInMessages(run.messages, limits);
        if (limit)
          return failed(`the C compiler (${compiler}) was stopped: ${limit.reason}\n${limit.line}`);
        const broken = pass === 1 ? macrosInErrors(run.messages, source) : undefined;
        if (broken) {
          macros = macros.filter((m) => !broken.has(m));
          skipped.push(...broken);
          continue;
        }
        return failed(`the ABI probe does not compile with ${compiler}:\n${quote(run.messages)}`);
      }
      const objectPath = join(dir, OBJECT);
      if (!existsSync(objectPath))
        return failed(`the C compiler (${compiler}) ended well but wrote no object file`);
      let data;
      try {
        if (statSync(objectPath).size > limits.fileMiB * 2 ** 20)
          return failed(`the object file is larger than the limit of ${limits.fileMiB} MiB`);
        data = readElfSymbol(readFileSync(objectPath), PROBE_SYMBOL);
      } catch (error) {
        if (error instanceof ElfError)
          return failed(
            `cannot read the ABI probe's object file from ${compiler}: ${error.message}`,
          );
        throw error;
      }
      const words = uint64Words(data);
      if (words.length !== source.entries || words[0] !== BigInt(source.entries)) {
        return failed(
          `the ABI probe's object file holds ${words.length} values (the first says ${words[0]}); it should hold ${source.entries}`,
        );
      }
      const { measurements, notIntegers } = readMeasurements(words, source);
      return {
        kind: 'measured',
        compiler,
        target: { machine: data.machine, bits: data.bits, littleEndian: data.littleEndian },
        measurements,
        notIntegers: [...skipped, ...notIntegers].sort(),
      };
    }
  } finally {
    removeDir();
    releaseSignals();
  }
}
