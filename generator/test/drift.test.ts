// `viommu drift` as a library: the real differences of the system header, the text-only mode
// without a compiler, the linux profile, and drift injected into copies of a header. The
// command's output and exit status are in drift-cli.test.ts.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ALLOW_LIST, readAllowList } from '../drift/allow-list.js';
import type { Finding } from '../drift/compare.js';
import { DriftError, driftReport, SYSTEM_HEADER, type DriftReport } from '../drift/drift.js';
import { UAPI_HEADER_PATH } from '../emit/uapi-header.js';
import { distOutputs } from '../outputs.js';
import { CROSS, needCrossCompiler, NO_COMPILER } from './c-compiler.js';
import { growStruct, removeDefine, renameField, setDefine, swapFields } from './header-edits.js';
import { specModel } from './spec-model.js';

const brief = (f: Finding) => `${f.kind} ${f.subject}${f.headerName ? ` -> ${f.headerName}` : ''}`;

function lineOf(path: string, pattern: RegExp): number {
  const lines = readFileSync(path, 'utf8').split('\n');
  const i = lines.findIndex((l) => pattern.test(l));
  assert.ok(i >= 0, `${pattern} is not in ${path}`);
  return i + 1;
}

describe('drift against the system header', () => {
  let report: DriftReport;
  before(async () => {
    report = await driftReport(specModel(), SYSTEM_HEADER, {
      allowList: { label: 'allow-list.json', allowances: readAllowList(DEFAULT_ALLOW_LIST) },
    });
  });

  it('measures the ABI with the C compiler', () => {
    assert.equal(report.abi.measured, true);
  });

  // Read off /usr/include/linux/virtio_iommu.h (Debian linux-libc-dev 6.1): everything
  // else in it matches the spec, names, values and layout.
  it('finds each real difference, at its line', () => {
    const at = (f: Finding | undefined) => f?.header?.line;
    const find = (s: string) => report.findings.find((f) => brief(f) === s);
    assert.deepEqual(report.findings.map(brief).sort(), [
      'extra VIRTIO_IOMMU_FAULT_F_EXEC',
      'extra VIRTIO_IOMMU_MAP_F_MASK',
      'extra VIRTIO_IOMMU_PROBE_T_NONE',
      'rename VIRTIO_IOMMU_PROBE_PROPERTY_TYPE_MASK -> VIRTIO_IOMMU_PROBE_T_MASK',
      'rename virtio_iommu_fault.reserved1 -> reserved2',
    ]);
    assert.equal(
      at(find('extra VIRTIO_IOMMU_FAULT_F_EXEC')),
      lineOf(SYSTEM_HEADER, /#define VIRTIO_IOMMU_FAULT_F_EXEC\b/),
    );
    assert.equal(
      at(find('extra VIRTIO_IOMMU_MAP_F_MASK')),
      lineOf(SYSTEM_HEADER, /#define VIRTIO_IOMMU_MAP_F_MASK\b/),
    );
    assert.equal(
      at(find('extra VIRTIO_IOMMU_PROBE_T_NONE')),
      lineOf(SYSTEM_HEADER, /#define VIRTIO_IOMMU_PROBE_T_NONE\b/),
    );
    assert.equal(
      at(find('rename VIRTIO_IOMMU_PROBE_PROPERTY_TYPE_MASK -> VIRTIO_IOMMU_PROBE_T_MASK')),
      lineOf(SYSTEM_HEADER, /#define VIRTIO_IOMMU_PROBE_T_MASK\b/),
    );
    const reserved = find('rename virtio_iommu_fault.reserved1 -> reserved2');
    assert.equal(at(reserved), lineOf(SYSTEM_HEADER, /\breserved2\[4\];/));
    assert.match(reserved!.message, /same offset 12 and size 4/);
    assert.deepEqual(
      [reserved!.expected, reserved!.actual],
      ['reserved1 __le32', 'reserved2 __u8[4]'],
    );
  });

  it('accepts every one of them through the default allow-list, with a reason', () => {
    assert.equal(report.drift, 0);
    assert.equal(report.accepted, 5);
    for (const f of report.findings) assert.ok(f.accepted && f.accepted.length > 20, brief(f));
    assert.deepEqual(report.unused, []);
  });

  it('finds nothing with the linux profile', async () => {
    const linux = await driftReport(specModel(), SYSTEM_HEADER, { profile: 'linux' });
    assert.deepEqual(linux.findings, []);
    assert.equal(linux.abi.measured, true);
  });

  it('measures another architecture with a cross compiler, from its object file', async function () {
    needCrossCompiler(this);
    const cross = await driftReport(specModel(), SYSTEM_HEADER, {
      compiler: CROSS,
      allowList: { label: 'allow-list.json', allowances: readAllowList(DEFAULT_ALLOW_LIST) },
    });
    assert.deepEqual(cross.abi, {
      measured: true,
      compiler: CROSS,
      target: { machine: 'aarch64', bits: 64, littleEndian: true },
      notIntegers: [],
    });
    assert.deepEqual(cross.findings, report.findings);
  });

  it("takes the values the target's compiler computes: char is unsigned on aarch64", async function () {
    needCrossCompiler(this);
    const dir = mkdtempSync(join(tmpdir(), 'viommu-cross-'));
    try {
      const path = join(dir, 'virtio_iommu.h');
      writeFileSync(
        path,
        readFileSync(SYSTEM_HEADER, 'utf8').replace(
          /\n#endif\s*$/,
          '\n#define VIRTIO_IOMMU_X_CHAR ((char)-1)\n#endif\n',
        ),
      );
      const value = async (compiler: string) =>
        (await driftReport(specModel(), path, { compiler })).findings.find(
          (f) => f.subject === 'VIRTIO_IOMMU_X_CHAR',
        )?.actual;
      assert.equal(await value('cc'), '-1');
      assert.equal(await value(CROSS), '255');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the same differences from the text alone when there is no C compiler', async () => {
    const text = await driftReport(specModel(), SYSTEM_HEADER, { compiler: NO_COMPILER });
    assert.deepEqual(text.abi, {
      measured: false,
      compiler: NO_COMPILER,
      reason: `no C compiler (${NO_COMPILER})`,
    });
    assert.deepEqual(text.findings.map(brief), report.findings.map(brief));
  });
});

describe('drift injected into a copy of a header', () => {
  let dir: string;
  let original: string;
  const model = () => specModel();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-drift-test-'));
    original = distOutputs(specModel()).get(UAPI_HEADER_PATH)!;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Drift of the edited header, measured and text-only, which must agree on names and values. */
  async function drift(name: string, text: string, compiler?: string): Promise<Finding[]> {
    const path = join(dir, `${name}.h`);
    writeFileSync(path, text);
    return (await driftReport(model(), path, compiler ? { compiler } : {})).findings;
  }

  it('finds nothing in the generated header itself', async () => {
    assert.deepEqual(await drift('same', original), []);
    assert.deepEqual(await drift('same-text', original, NO_COMPILER), []);
  });

  it('finds a renamed field as a likely rename, at its line', async () => {
    const text = renameField(original, 'virtio_iommu_req_map', 'phys_start', 'phys_addr');
    for (const compiler of [undefined, NO_COMPILER]) {
      const findings = await drift('renamed', text, compiler);
      assert.deepEqual(findings.map(brief), [
        'rename virtio_iommu_req_map.phys_start -> phys_addr',
      ]);
      assert.equal(findings[0].header?.line, lineOf(join(dir, 'renamed.h'), /\bphys_addr;/));
      assert.match(findings[0].message, /same offset 24 and size 8/);
    }
  });

  it('finds a changed value', async () => {
    const findings = await drift('value', setDefine(original, 'VIRTIO_IOMMU_S_NOENT', '0x10'));
    assert.deepEqual(findings.map(brief), ['value VIRTIO_IOMMU_S_NOENT']);
    assert.deepEqual([findings[0].expected, findings[0].actual], ['6', '16']);
    assert.equal(
      findings[0].header?.line,
      lineOf(join(dir, 'value.h'), /#define VIRTIO_IOMMU_S_NOENT\b/),
    );
  });

  it('finds a removed define', async () => {
    const findings = await drift('removed', removeDefine(original, 'VIRTIO_IOMMU_F_MMIO'));
    assert.deepEqual(findings.map(brief), ['missing VIRTIO_IOMMU_F_MMIO']);
    assert.equal(findings[0].header, undefined);
    assert.match(findings[0].spec!.file, /^spec-src\//);
  });

  it('finds two swapped fields as a layout change of both', async () => {
    const text = swapFields(original, 'virtio_iommu_req_attach', 'domain', 'endpoint');
    const findings = await drift('swapped', text);
    assert.deepEqual(findings.map(brief), [
      'layout virtio_iommu_req_attach.endpoint',
      'layout virtio_iommu_req_attach.domain',
    ]);
    assert.deepEqual(
      findings.map((f) => [f.expected, f.actual]),
      [
        ['offset 8, size 4', 'offset 4, size 4'],
        ['offset 4, size 4', 'offset 8, size 4'],
      ],
    );
    // Without a compiler the layout comes from the text, and says the same.
    assert.deepEqual(
      (await drift('swapped-text', text, NO_COMPILER)).map(brief),
      findings.map(brief),
    );
  });

  it('finds a struct grown by a field: the extra field and the new size', async () => {
    const findings = await drift(
      'grown',
      growStruct(original, 'virtio_iommu_fault', '__le32\t\t\t\t\tpasid;'),
    );
    assert.deepEqual(findings.map(brief), [
      'layout struct virtio_iommu_fault',
      'extra virtio_iommu_fault.pasid',
    ]);
    assert.deepEqual([findings[0].expected, findings[0].actual], ['24', '32']);
    assert.match(findings[1].message, /pasid \(__le32 at offset 24\) is not in the spec/);
  });

  it('finds a field whose type changed but not its size', async () => {
    const text = original.replace(/(\t)__le32(\t+domain;)/, '$1__u32$2');
    const findings = await drift('type', text);
    assert.ok(findings.length > 0);
    assert.ok(
      findings.every((f) => f.kind === 'type' && /\.domain$/.test(f.subject)),
      findings.map(brief).join(),
    );
    assert.match(findings[0].message, /is __u32 in the header; the spec says __le32/);
  });

  it('stops with a DriftError when the header does not compile or cannot be read', async () => {
    await assert.rejects(() => drift('broken', `${original}\nstruct broken {\n`), DriftError);
    await assert.rejects(
      () => driftReport(model(), join(dir, 'absent.h')),
      /cannot read .*absent\.h: ENOENT/,
    );
  });
});
