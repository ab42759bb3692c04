// Each spec-src diagnostic from a small broken input: the place, the words, and nothing built.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VFile } from 'vfile';
import { packageRoot } from '../paths.js';
import { messagesOf, type VFileMessage } from '../messages.js';
import { parseSpec } from '../parse/index.js';

const mini = readFileSync(join(packageRoot, 'generator/test/fixtures/mini/01-device.md'), 'utf8');

/** Parses the mini spec after replacing `from` with `to` (which must occur). */
function parseWith(
  edits: [string, string][],
  extra: { retired?: string; files?: string[] } = {},
): { diagnostics: VFileMessage[]; built: boolean; model: ReturnType<typeof parseSpec>['model'] } {
  let text = mini;
  for (const [from, to] of edits) {
    assert.ok(text.includes(from), `fixture lacks ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  const files = [new VFile({ path: 'spec-src/01-device.md', value: text })];
  (extra.files ?? []).forEach((value, i) =>
    files.push(new VFile({ path: `spec-src/0${i + 2}-more.md`, value })),
  );
  const retiredIds = extra.retired
    ? new VFile({ path: 'spec-src/retired-ids.txt', value: extra.retired })
    : undefined;
  const result = parseSpec({ files, retiredIds, version: '0.0.0' });
  return {
    diagnostics: messagesOf(result.files),
    built: result.model !== undefined,
    model: result.model,
  };
}

function lineOf(needle: string): number {
  return mini.slice(0, mini.indexOf(needle)).split('\n').length;
}

function only(result: { diagnostics: VFileMessage[]; built: boolean }, rule: string): VFileMessage {
  assert.equal(result.built, false, 'a broken spec must not give a model');
  assert.deepEqual(
    result.diagnostics.map((d) => d.ruleId),
    [rule],
    result.diagnostics.map((d) => d.message).join('\n'),
  );
  return result.diagnostics[0];
}

describe('spec-src diagnostics', () => {
  it('the unbroken fixture builds with no diagnostic', () => {
    const r = parseWith([]);
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.built, true);
  });

  it('a struct that cannot be laid out: misaligned field', () => {
    const d = only(
      parseWith([
        ['  le32 domain;\n  le32 endpoint;', '  le32 domain;\n  u8 pad;\n  le32 endpoint;'],
      ]),
      'layout',
    );
    assert.match(d.message, /`endpoint` .* offset 9, which is not a multiple of its alignment 4/);
    assert.equal(d.file, 'spec-src/01-device.md');
    assert.equal(d.line, lineOf('le32 endpoint;') + 1);
    assert.equal(d.column, 3);
  });

  it('a struct whose end C would pad', () => {
    const d = only(parseWith([['  u8 bypass;\n  u8 reserved[3];', '  u8 bypass;']]), 'layout');
    assert.match(d.message, /virtio_iommu_config` is 29 bytes, not a multiple of its alignment 8/);
  });

  it('an unknown type, with the types to use', () => {
    const d = only(parseWith([['  le32 flags;', '  u32 flags;']]), 'c-syntax');
    assert.match(d.message, /Unknown type `u32`: use u8, le16, le32, le64/);
    assert.equal(d.line, lineOf('le32 flags;'));
    assert.equal(d.column, 3);
  });

  it('an unknown nested struct', () => {
    const d = only(
      parseWith([
        [
          'struct virtio_iommu_req_tail tail;\n};\n\n#define VIRTIO_IOMMU_ATTACH',
          'struct virtio_iommu_req_tale tail;\n};\n\n#define VIRTIO_IOMMU_ATTACH',
        ],
      ]),
      'layout',
    );
    assert.match(d.message, /Unknown struct `virtio_iommu_req_tale`/);
  });

  it('bit ranges that do not fill their container', () => {
    const d = only(parseWith([['reserved : 4;', 'reserved : 3;']]), 'layout');
    assert.match(d.message, /add up to 15 bits; they must fill all 16/);
  });

  it('a duplicate statement ID names the first place', () => {
    const d = only(parseWith([['`dev.attach.ok`', '`dev.attach.reserved`']]), 'duplicate-id');
    assert.match(
      d.message,
      new RegExp(`already used at spec-src/01-device.md:${lineOf('`dev.attach.reserved`')}`),
    );
    assert.equal(d.line, lineOf('`dev.attach.ok`'));
  });

  it('a retired statement ID', () => {
    const d = only(parseWith([], { retired: '# retired\ndev.attach.ok\n' }), 'retired-id');
    assert.match(d.message, /`dev.attach.ok` is retired/);
  });

  it('a requirement item with no ID', () => {
    const d = only(
      parseWith([['- `drv.attach.reserved` The driver', '- The driver']]),
      'missing-id',
    );
    assert.match(d.message, /must start with its ID in inline code/);
  });

  it('an ID whose prefix does not match its role', () => {
    const d = only(parseWith([['`drv.attach.reserved`', '`dev.attach.zero`']]), 'bad-id');
    assert.match(d.message, /must start with `drv.`/);
  });

  it('a requirement with no keyword', () => {
    const d = only(parseWith([['The driver SHOULD set', 'The driver sets']]), 'keyword-count');
    assert.match(d.message, /has no RFC 2119 keyword/);
  });

  it('a requirement with two keywords points at the second', () => {
    const d = only(
      parseWith([
        [
          'The driver SHOULD set `reserved` to zero.',
          'The driver SHOULD set `reserved` to zero and MUST NOT set it.',
        ],
      ]),
      'keyword-count',
    );
    assert.match(d.message, /has 2 keywords \(SHOULD, MUST NOT\); split it/);
    assert.equal(d.line, lineOf('`drv.attach.reserved`'));
    assert.equal(
      d.column,
      mini.split('\n')[lineOf('`drv.attach.reserved`') - 1].indexOf('SHOULD') +
        1 +
        'SHOULD set `reserved` to zero and '.length,
    );
  });

  describe('definitions (level DEFINED)', () => {
    const definitions = (items: string): string =>
      `### Device definitions: ATTACH\n\n${items}\n\n### Driver requirements: ATTACH`;
    const withDefinitions = (items: string, extra: [string, string][] = []) =>
      parseWith([['### Driver requirements: ATTACH', definitions(items)], ...extra]);
    /** Line and column of `needle` inside `items` once they are in the fixture. */
    const placeIn = (items: string, needle: string): { line: number; column: number } => {
      const text = mini.replace('### Driver requirements: ATTACH', definitions(items));
      const before = text.slice(0, text.indexOf(needle, text.indexOf(items)));
      return {
        line: before.split('\n').length,
        column: before.length - before.lastIndexOf('\n'),
      };
    };

    it('an item under "Device definitions:" holds no keyword and gets level DEFINED', () => {
      const items =
        '- `dev.attach.same` Attaching an endpoint to its own domain leaves the domain as it was.';
      const files = [
        new VFile({
          path: 'spec-src/01-device.md',
          value: mini.replace('### Driver requirements: ATTACH', definitions(items)),
        }),
      ];
      const { model, files: reported } = parseSpec({ files, version: '0.0.0' });
      assert.deepEqual(messagesOf(reported), []);
      const levels = Object.fromEntries(model!.statements.map((s) => [s.id, s.level]));
      assert.equal(levels['dev.attach.same'], 'DEFINED');
      assert.equal(levels['dev.attach.reserved'], 'MUST');
      assert.equal(
        levels['drv.attach.reserved'],
        'SHOULD',
        'the heading after ends the definitions',
      );
    });

    it('a definition that holds a keyword, at the keyword', () => {
      const items = '- `dev.attach.same` The device MUST leave the domain as it was.';
      const d = only(withDefinitions(items), 'definition-keyword');
      assert.match(d.message, /Definition `dev.attach.same` holds the keyword MUST/);
      assert.match(d.message, /"Device requirements: …"/);
      assert.deepEqual({ line: d.line, column: d.column }, placeIn(items, 'MUST'));
    });

    it('a requirement that holds a keyword and DEFINED, at DEFINED', () => {
      const d = only(
        parseWith([['The driver SHOULD set', 'DEFINED: the driver SHOULD set']]),
        'defined-in-requirement',
      );
      assert.match(d.message, /`drv.attach.reserved` holds both SHOULD and DEFINED/);
      assert.equal(d.line, lineOf('`drv.attach.reserved`'));
      assert.equal(
        d.column,
        mini.split('\n')[lineOf('`drv.attach.reserved`') - 1].indexOf('The driver') + 1,
      );
    });

    it('a requirement marked DEFINED instead of under a definitions heading', () => {
      const d = only(
        parseWith([['The driver SHOULD set', '**DEFINED** the driver sets']]),
        'defined-in-requirement',
      );
      assert.match(d.message, /move `drv.attach.reserved` under a "Driver definitions: …" heading/);
      assert.equal(d.line, lineOf('`drv.attach.reserved`'));
      assert.equal(
        d.column,
        mini.split('\n')[lineOf('`drv.attach.reserved`') - 1].indexOf('The driver') + 3,
      );
    });

    it('a requirement with no keyword is told about definitions', () => {
      const d = only(parseWith([['The driver SHOULD set', 'The driver sets']]), 'keyword-count');
      assert.match(d.message, /move the item under a "Driver definitions: …" heading/);
    });

    it('a definition item keeps the ID rules of its role', () => {
      const items = '- `drv.attach.same` Attaching leaves the domain as it was.';
      const d = only(withDefinitions(items), 'bad-id');
      assert.match(d.message, /sits under device statements, so its ID must start with `dev.`/);
    });
  });

  it('a keyword outside any requirement', () => {
    const d = only(
      parseWith([['| 0 | requestq | requests |', '| 0 | requestq | requests MUST go here |']]),
      'keyword-outside-requirement',
    );
    assert.match(d.message, /MUST stands outside a requirement/);
  });

  it('keywords outside a requirement, each at its place in a paragraph of several lines', () => {
    const paragraph = 'Prose that says MUST here,\nand on a second line\nit says SHOULD and MAY.';
    const r = parseWith([
      ['| 1 | eventq | fault reports |', `| 1 | eventq | fault reports |\n\n${paragraph}`],
    ]);
    const start = mini.indexOf('| 1 | eventq | fault reports |');
    const line = mini.slice(0, start).split('\n').length + 2;
    assert.deepEqual(
      r.diagnostics.map((d) => [d.message.split(' ')[2], d.line, d.column]),
      [
        ['MUST', line, 'Prose that says '.length + 1],
        ['SHOULD', line + 2, 'it says '.length + 1],
        ['MAY', line + 2, 'it says SHOULD and '.length + 1],
      ],
    );
  });

  it('an unresolved name, with the likely intended one', () => {
    const d = only(
      parseWith([['If `reserved` is not zero', 'If `reserverd` is not zero']]),
      'unresolved-name',
    );
    assert.match(d.message, /`reserverd` is not a name of the model .*did you mean `reserved`\?/);
    assert.equal(d.line, lineOf('If `reserved` is not zero'));
  });

  it('hints for the first 100 distinct unknown names only; every one is still reported', () => {
    // `reservedaa`, `reservedab`…: each two edits from `reserved`.
    const suffix = (i: number) => String.fromCharCode(97 + Math.floor(i / 26), 97 + (i % 26));
    const names = Array.from({ length: 120 }, (_, i) => `\`reserved${suffix(i)}\``).join(' ');
    const r = parseWith([
      [
        '| 1 | eventq | fault reports |',
        `| 1 | eventq | fault reports |\n\n${names} \`reservedaa\``,
      ],
    ]);
    const unresolved = r.diagnostics.filter((d) => d.ruleId === 'unresolved-name');
    assert.equal(unresolved.length, 121);
    const hinted = unresolved.filter((d) => d.message.includes('did you mean `reserved`'));
    assert.equal(hinted.length, 101, 'the first 100 names, and the repeat of the first');
    assert.match(unresolved[119].message, /`reservedep` is not a name of the model \(struct/);
    assert.doesNotMatch(unresolved[119].message, /did you mean/);
  });

  it('a bad scenario line: unknown field, with its place in the block', () => {
    const d = only(
      parseWith([['endpoint=@ep reserved=1 => S_INVAL', 'endpoint=@ep reserverd=1 => S_INVAL']]),
      'scenario',
    );
    assert.match(
      d.message,
      /ATTACH request: field `reserverd` is not in its device-readable part; did you mean `reserved`\?/,
    );
    const line = lineOf('attach domain=1 endpoint=@ep reserved=1');
    assert.equal(d.line, line);
    assert.equal(d.column, mini.split('\n')[line - 1].indexOf('reserved=1') + 1);
  });

  it('bad scenario lines: unknown step, symbol, status and a value too wide', () => {
    const r = parseWith([
      [
        'attach domain=1 endpoint=@ep reserved=1 => S_INVAL',
        'attach domain=1 endpoint=@epp => S_OK\n  frob\n  attach domain=0x100000000 endpoint=@ep\n  attach domain=1 endpoint=@ep => S_INVALID',
      ],
    ]);
    assert.equal(r.built, false);
    const messages = r.diagnostics.map((d) => d.message);
    assert.equal(messages.length, 4, messages.join('\n'));
    assert.match(messages[0], /Unknown symbol `@epp`.*did you mean `ep`\?/);
    assert.match(messages[1], /Unknown step `frob`/);
    assert.match(messages[2], /0x100000000 does not fit in field `domain`/);
    assert.match(messages[3], /`S_INVALID` is not a status/);
  });

  it('a page precondition: `@page>=N` parses, anything else after `@` is refused', () => {
    const good = parseWith([
      [
        'attach domain=1 endpoint=@ep reserved=1 => S_INVAL',
        'needs @page>=4096\n  attach domain=1 endpoint=@ep reserved=1 => S_INVAL',
      ],
    ]);
    const needs = good.model?.statements
      .flatMap((s) => s.scenarios)
      .flatMap((sc) => sc.steps)
      .find((st) => st.op === 'needs');
    assert.deepEqual(needs, {
      op: 'needs',
      offered: [],
      notOffered: [],
      minPage: '0x1000',
      line: 1,
    });
    const d = only(
      parseWith([
        [
          'attach domain=1 endpoint=@ep reserved=1 => S_INVAL',
          'needs @page>4096\n  attach domain=1 endpoint=@ep reserved=1 => S_INVAL',
        ],
      ]),
      'scenario',
    );
    assert.match(d.message, /`@page>4096` is no precondition; write `@page>=N`/);
  });

  it('a scenario outside a requirement', () => {
    const d = only(
      parseWith([['## Requests\n', '## Requests\n\n```scenario\nreset\n```\n']]),
      'stray-scenario',
    );
    assert.match(d.message, /must be nested in a requirement list item/);
  });

  it('a duplicate constant and a clashing value', () => {
    const r = parseWith([
      [
        '#define VIRTIO_IOMMU_S_INVAL 4',
        '#define VIRTIO_IOMMU_S_INVAL 4\n#define VIRTIO_IOMMU_S_INVAL 5\n#define VIRTIO_IOMMU_S_BAD 0',
      ],
    ]);
    assert.deepEqual(
      r.diagnostics.map((d) => d.ruleId),
      ['duplicate-constant', 'constant-value'],
    );
  });

  it('a duplicate heading anchor across files', () => {
    const d = only(parseWith([], { files: ['## Requests\n\nMore text.\n'] }), 'duplicate-section');
    assert.match(d.message, /same anchor `#requests` as the heading at spec-src\/01-device.md:/);
    assert.equal(d.file, 'spec-src/02-more.md');
  });

  it('reports every error of a run, not only the first', () => {
    const r = parseWith([
      ['  le32 flags;', '  u32 flags;'],
      ['If `reserved` is not zero', 'If `reserverd` is not zero'],
      ['The driver SHOULD set', 'The driver sets'],
    ]);
    assert.deepEqual(r.diagnostics.map((d) => d.ruleId).sort(), [
      'c-syntax',
      'keyword-count',
      'unresolved-name',
    ]);
  });
});
