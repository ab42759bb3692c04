// The generated UAPI header and its layout test: they compile as C and C++ at the strictest
// warnings, assert what they should, have the same ABI as the system's header, and come out
// byte for byte the same on every run and every machine.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SYSTEM_HEADER } from '../drift/drift.js';
import { parseHeader } from '../drift/parse-header.js';
import { probeHeader, type Measurements } from '../drift/probe.js';
import { cView, viewStructs } from '../emit/c-view.js';
import { LAYOUT_TEST_PATH } from '../emit/layout-test.js';
import { UAPI_HEADER_PATH } from '../emit/uapi-header.js';
import { distOutputs, profileHeader } from '../outputs.js';
import { packageRoot } from '../paths.js';
import { compile, STRICT } from './c-compiler.js';
import { growStruct } from './header-edits.js';
import { buildSpecModel, miniModel, specModel, version } from './spec-model.js';

/**
 * The ABI of the header at `path`, measured through the names of `namesFrom` (by default the
 * header itself). Every name must be there, with an integer value for every macro.
 */
async function measure(path: string, namesFrom = path): Promise<Measurements> {
  const outcome = await probeHeader(path, parseHeader(readFileSync(namesFrom, 'utf8'), namesFrom));
  assert.equal(
    outcome.kind,
    'measured',
    outcome.kind === 'failed' ? outcome.message : outcome.kind,
  );
  assert.deepEqual(outcome.notIntegers, [], 'macros without an integer value');
  return outcome.measurements;
}

describe('the generated UAPI header', () => {
  let root: string;
  let include: string;
  let files: Map<string, string>;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'viommu-header-'));
    files = distOutputs(specModel());
    for (const [path, text] of files) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    include = join(root, 'dist', 'include');
    writeFileSync(join(root, 'use.c'), '#include <linux/virtio_iommu.h>\nint viommu_test;\n');
    writeFileSync(join(root, 'use.cc'), '#include <linux/virtio_iommu.h>\nint viommu_test;\n');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const std of ['c89', 'c99', 'c11', 'gnu17', 'c2x']) {
    it(`compiles with gcc -std=${std} -Wall -Wextra -Werror -pedantic`, () => {
      const r = compile('gcc', [
        `-std=${std}`,
        ...STRICT,
        '-I',
        include,
        '-c',
        join(root, 'use.c'),
        '-o',
        '/dev/null',
      ]);
      assert.equal(r.status, 0, r.stderr);
    });
  }
  for (const std of ['c++98', 'c++11', 'c++17', 'c++20']) {
    it(`compiles with g++ -std=${std} -Wall -Wextra -Werror -pedantic`, () => {
      const r = compile('g++', [
        `-std=${std}`,
        ...STRICT,
        '-I',
        include,
        '-c',
        join(root, 'use.cc'),
        '-o',
        '/dev/null',
      ]);
      assert.equal(r.status, 0, r.stderr);
    });
  }

  it('passes its generated layout test, which asserts every size, offset and value', () => {
    const test = join(root, LAYOUT_TEST_PATH);
    const r = compile('gcc', ['-std=c11', ...STRICT, '-fsyntax-only', '-I', include, test]);
    assert.equal(r.status, 0, r.stderr);
    const text = files.get(LAYOUT_TEST_PATH)!;
    const model = specModel();
    assert.match(text, /_Static_assert\(offsetof\(struct virtio_iommu_req_map, virt_start\) == 8,/);
    assert.match(text, /_Static_assert\(sizeof\(struct virtio_iommu_req_probe\) == 72,/);
    for (const c of model.constants)
      assert.ok(text.includes(`_Static_assert(${c.name} == ${c.value},`), c.name);
    // Every field C can name has its offset asserted: all but what follows a flexible array.
    const fields = viewStructs(cView(model)).reduce((n, s) => n + s.fields.length, 0);
    assert.equal((text.match(/offset of /g) ?? []).length, fields);
    assert.ok(fields >= model.structs.reduce((n, s) => n + s.fields.length, 0) - 1);
  });

  it('has a layout test that fails on a header whose layout moved', () => {
    const header = readFileSync(join(root, UAPI_HEADER_PATH), 'utf8');
    const moved = join(root, 'moved', 'linux');
    mkdirSync(moved, { recursive: true });
    writeFileSync(
      join(moved, 'virtio_iommu.h'),
      growStruct(header, 'virtio_iommu_req_map', '__le32 extra;'),
    );
    const r = compile('gcc', [
      '-std=c11',
      '-fsyntax-only',
      '-I',
      join(root, 'moved'),
      join(root, LAYOUT_TEST_PATH),
    ]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /sizeof\(struct virtio_iommu_req_map\)/);
  });

  it('has the ABI of the system header for every struct both define', async () => {
    const ours = await measure(join(root, UAPI_HEADER_PATH));
    const system = await measure(SYSTEM_HEADER);
    const common = [...ours.structs.keys()].filter((s) => system.structs.has(s));
    assert.ok(common.length >= 12, `only ${common.join(', ')}`);
    for (const name of common) {
      const a = ours.structs.get(name)!;
      const b = system.structs.get(name)!;
      assert.equal(a.size, b.size, `sizeof(struct ${name})`);
      // Same bytes, field by field: offsets and sizes of the fields both name, and the
      // same set of (offset, size) slots overall (the fault's reserved1/reserved2).
      const slots = (l: typeof a) =>
        [...l.fields.values()].map((f) => `${f.offset}+${f.size ?? 'flex'}`).sort();
      assert.deepEqual(slots(a), slots(b), `fields of struct ${name}`);
    }
  });

  it('starts every generated file with the spec version and a do-not-edit line', () => {
    for (const [path, text] of files) {
      if (path.endsWith('.json')) continue;
      assert.ok(text.startsWith(`/*\n * The virtio-iommu device, spec model ${version}.\n`), path);
      assert.match(
        text,
        /\n \* Do not edit: generated by viommu gen from spec-src\/\.\n \*\/\n/,
        path,
      );
    }
  });

  it('is reproducible byte for byte and holds no path of this machine', () => {
    // From a second parse of spec-src, so that the whole way from Markdown is checked.
    const again = distOutputs(buildSpecModel());
    assert.deepEqual([...again.keys()], [...files.keys()]);
    for (const [path, text] of files) {
      assert.equal(again.get(path), text, path);
      assert.ok(!text.includes(packageRoot), `${path} holds ${packageRoot}`);
      assert.ok(!text.includes(tmpdir()), `${path} holds ${tmpdir()}`);
      assert.doesNotMatch(text, /\b20\d\d-\d\d-\d\d\b/, `${path} holds a date`);
    }
  });

  it('is generated for the small fixture spec too, and compiles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-mini-'));
    try {
      const mini = distOutputs(miniModel());
      for (const path of [UAPI_HEADER_PATH, LAYOUT_TEST_PATH]) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), mini.get(path)!);
      }
      const r = compile('gcc', [
        '-std=c11',
        ...STRICT,
        '-fsyntax-only',
        '-I',
        join(dir, 'dist', 'include'),
        join(dir, LAYOUT_TEST_PATH),
      ]);
      assert.equal(r.status, 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the linux profile header', () => {
  let dir: string;
  let text: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-linux-'));
    text = profileHeader(specModel(), 'linux');
    mkdirSync(join(dir, 'linux'));
    writeFileSync(join(dir, 'linux', 'virtio_iommu.h'), text);
    writeFileSync(join(dir, 'use.cc'), '#include <linux/virtio_iommu.h>\nint viommu_test;\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('marks each name outside the spec and gives its reason', () => {
    const profile = JSON.parse(
      readFileSync(join(packageRoot, 'generator', 'profiles', 'linux.json'), 'utf8'),
    ) as {
      defines: { name: string }[];
      renames: { as: string }[];
      fields: { as: string }[];
    };
    const names = [
      ...profile.defines.map((d) => d.name),
      ...profile.renames.map((r) => r.as),
      ...profile.fields.map((f) => f.as),
    ];
    for (const name of names) {
      assert.match(text, new RegExp(`Outside the spec\\.[^/]*\\*/\\n[^\\n]*\\b${name}\\b`), name);
    }
  });

  it('compiles with g++ -Wall -Wextra -Werror -pedantic', () => {
    const r = compile('g++', [...STRICT, '-I', dir, '-c', join(dir, 'use.cc'), '-o', '/dev/null']);
    assert.equal(r.status, 0, r.stderr);
  });

  it("has the system header's ABI and every one of its names and values", async () => {
    const ours = await measure(join(dir, 'linux', 'virtio_iommu.h'));
    const system = await measure(SYSTEM_HEADER);
    assert.deepEqual(ours.values, system.values);
    assert.deepEqual(ours.structs, system.structs);
  });

  // A drop-in: code written against the system header compiles against the profile's and
  // sees the same bytes. The probe names every struct, field and macro the system header
  // declares (read from it by the drift header parser) and is compiled against the profile.
  it('compiles a probe of every name of the system header, with the same sizeof, offsetof and values', async () => {
    const system = await measure(SYSTEM_HEADER);
    const throughProfile = await measure(join(dir, 'linux', 'virtio_iommu.h'), SYSTEM_HEADER);
    const names = parseHeader(readFileSync(SYSTEM_HEADER, 'utf8'), SYSTEM_HEADER);
    const macros = names.defines.filter((d) => !d.functionLike && d.body !== '');
    const fields = names.structs.flatMap((s) => s.fields);
    assert.ok(macros.length >= 38 && names.structs.length >= 13 && fields.length >= 50);
    assert.equal(throughProfile.values.size, macros.length);
    assert.deepEqual(throughProfile.values, system.values);
    assert.deepEqual(throughProfile.structs, system.structs);
  });
});
