// A large spec for the build benchmark, made at bench time and never committed: the real
// spec-src/ (so that the model has its structs, constants and statements) plus generated
// chapters until the Markdown reaches the size asked for. A chapter has what the real spec
// has, in about the same mix: prose that names fields and constants, a C block with a struct
// and a `#define` group, a constant table, requirement items with scenarios, and definitions.
// Seeded, so that every run measures the same text.

import { copyFileSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from './seeded-random.js';

const WORDS = (
  'the a device driver endpoint domain mapping request reply address range page granularity ' +
  'bypass status fault queue buffer virtual physical translation access read write attach ' +
  'detach map unmap probe property reserved region which when each every of to in with is ' +
  'are its that this from on by as'
).split(' ');

/** Names of the real model, so that the generated prose resolves like the real one. */
const NAMES = [
  'virt_start',
  'virt_end',
  'phys_start',
  'domain',
  'endpoint',
  'flags',
  'reserved',
  'input_range',
  'domain_range.end',
  'page_size_mask',
  'VIRTIO_IOMMU_S_OK',
  'VIRTIO_IOMMU_S_INVAL',
  'VIRTIO_IOMMU_MAP_F_READ',
  'VIRTIO_IOMMU_F_MAP_UNMAP',
  'virtio_iommu_req_map',
];

class ChapterWriter {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }

  #pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.#next() * list.length)]!;
  }

  /** A sentence of `words` words, every seventh or so a name in inline code. */
  #sentence(words: number): string {
    const out: string[] = [];
    for (let i = 0; i < words; i++)
      out.push(this.#next() < 0.14 ? `\`${this.#pick(NAMES)}\`` : this.#pick(WORDS));
    return out.join(' ');
  }

  /** Wraps text at about 90 columns, with `indent` before every line but the first. */
  #wrap(text: string, indent = ''): string {
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(' ')) {
      if (line.length + word.length > 88) {
        lines.push(line);
        line = indent;
      }
      line += line.trim() ? ` ${word}` : word;
    }
    lines.push(line);
    return lines.join('\n');
  }

  chapter(n: number): string {
    const group = `VIRTIO_IOMMU_GEN${n}_V_`;
    const parts = [`## Generated chapter ${n}`, ''];
    for (let p = 0; p < 3; p++) parts.push(this.#wrap(`${this.#sentence(60)}.`), '');
    parts.push(
      '```c',
      `/* A generated record */`,
      `struct virtio_iommu_gen_${n} {`,
      '  le32 id;',
      '  le32 flags;',
      '  le64 base;',
      '  u8   reserved[8];',
      '};',
      '',
      ...Array.from({ length: 6 }, (_, i) => `#define ${group}K${i} ${i}`),
      '```',
      '',
      '| Value | Name | Meaning |',
      '| --- | --- | --- |',
      ...Array.from(
        { length: 4 },
        (_, i) => `| ${i} | VIRTIO_IOMMU_GEN${n}_R_K${i} | ${this.#sentence(8)} |`,
      ),
      '',
      `### Device requirements: Generated chapter ${n}`,
      '',
    );
    for (let i = 0; i < 6; i++) {
      const keyword = this.#pick(['MUST', 'SHOULD', 'MAY', 'MUST NOT', 'SHOULD NOT']);
      parts.push(
        this.#wrap(
          `- \`dev.gen${n}.item${i}\` When ${this.#sentence(12)}, the device ${keyword} ${this.#sentence(18)}.`,
          '  ',
        ),
        '',
      );
      if (i % 2 === 0) {
        parts.push(
          '  ```scenario',
          '  needs F_MAP_UNMAP',
          `  attach domain=${i + 1} endpoint=@ep`,
          `  map domain=${i + 1} virt_start=0x${(i + 1).toString(16)}000 virt_end=0x${(i + 1).toString(16)}fff phys_start=@ram flags=MAP_F_READ`,
          `  dma @ep read 0x${(i + 1).toString(16)}000 16 => ok @ram`,
          '  ```',
          '',
        );
      }
    }
    parts.push(`### Device definitions: Generated chapter ${n}`, '');
    for (let i = 0; i < 2; i++)
      parts.push(this.#wrap(`- \`dev.gen${n}.def${i}\` ${this.#sentence(24)}.`, '  '), '');
    return parts.join('\n');
  }
}

/** A copy of spec-src/ in a new temporary folder, and the bytes of Markdown it holds. */
function copySpec(specSrc: string): { dir: string; bytes: number } {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-big-spec-'));
  let bytes = 0;
  for (const name of readdirSync(specSrc)) {
    // The spec's files only: spec-src/versions/ is no part of what `viommu build` reads.
    if (!statSync(join(specSrc, name)).isFile()) continue;
    copyFileSync(join(specSrc, name), join(dir, name));
    if (name.endsWith('.md')) bytes += statSync(join(dir, name)).size;
  }
  return { dir, bytes };
}

/**
 * spec-src/ and one file whose single C block holds `#define` lines, each with its comment,
 * until the folder holds about `bytes` of Markdown: the shape in which a place look-up that
 * re-reads the block for every line costs the square of its length.
 */
export function writeOneBlockSpec(specSrc: string, bytes: number): string {
  const { dir, bytes: start } = copySpec(specSrc);
  const lines = ['## One large C block', '', '```c'];
  let size = start;
  for (let i = 0; size < bytes; i++) {
    const pair = [`/* Generated value ${i} */`, `#define VIRTIO_IOMMU_BLOCK_V_K${i} ${i}`];
    lines.push(...pair);
    size += pair.join('\n').length + 2;
  }
  lines.push('```', '');
  writeFileSync(join(dir, '90000-one-block.md'), lines.join('\n'));
  return dir;
}

/**
 * A folder holding spec-src/ and generated chapters, about `bytes` of Markdown in all, in
 * files of about 200 kB (the size of a large chapter file). The caller removes it.
 */
export function writeBigSpec(specSrc: string, bytes: number, seed = 1): string {
  const { dir, bytes: start } = copySpec(specSrc);
  let total = start;
  const writer = new ChapterWriter(seed);
  let file = 0;
  let chapter = 0;
  while (total < bytes) {
    const chapters: string[] = [];
    let size = 0;
    while (size < 200_000 && total + size < bytes) {
      const text = writer.chapter(++chapter);
      chapters.push(text);
      size += Buffer.byteLength(text) + 1;
    }
    file++;
    writeFileSync(join(dir, `9${String(file).padStart(4, '0')}-generated.md`), chapters.join('\n'));
    total += size;
  }
  return dir;
}
