// The tables of dist/ts that consumers look facts up in: field layouts and the virtio-pci
// common configuration checked against the real C compiler's offsetof and sizeof, and the
// request registry and the constants by name checked against the model.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  CONSTANTS,
  CONSTANTS_BY_NAME,
  FEATURE_BITS,
  REQUEST_VERBS,
  REQUESTS,
  SIZEOF_VIRTIO_PCI_COMMON_CFG,
  STRUCT_LAYOUTS,
  VIRTIO_PCI_COMMON_CFG,
  type FieldLayout,
  type RequestEntry,
  type StructName,
} from '../../dist/ts/index.js';
import { UAPI_HEADER_PATH } from '../emit/uapi-header.js';
import { distOutputs } from '../outputs.js';
import { runC } from './c-compiler.js';
import { specModel } from './spec-model.js';

/** Compiles `lines` as the body of main() with the generated header and returns what it prints. */
function runWithHeader(includes: string[], lines: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-tables-'));
  try {
    const header = join(dir, UAPI_HEADER_PATH);
    mkdirSync(dirname(header), { recursive: true });
    writeFileSync(header, distOutputs(specModel()).get(UAPI_HEADER_PATH)!);
    const program = [
      '#include <stddef.h>',
      '#include <stdio.h>',
      ...includes.map((name) => `#include <${name}>`),
      'int main(void)',
      '{',
      ...lines.map((line) => `\t${line}`),
      '\treturn 0;',
      '}',
      '',
    ];
    return runC(program.join('\n'), join(dir, 'dist', 'include'))
      .trim()
      .split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether `path` comes after a variable array of its struct. */
function afterVariable(fields: Readonly<Record<string, FieldLayout>>, path: string): boolean {
  const paths = Object.keys(fields);
  const variable = paths.findIndex((p) => fields[p]!.lengthField !== undefined);
  return variable >= 0 && paths.indexOf(path) > variable;
}

describe('dist/ts field layouts', () => {
  const model = specModel();

  it('list every struct of the model with its size, and every field of it', () => {
    assert.deepEqual(
      Object.keys(STRUCT_LAYOUTS),
      model.structs.map((s) => s.name),
    );
    for (const s of model.structs) {
      const layout = STRUCT_LAYOUTS[s.name as StructName];
      assert.equal(layout.size, s.size, s.name);
      for (const f of s.fields) {
        const names = f.kind === 'bits' ? f.bits.map((b) => b.name) : [f.name];
        for (const name of names) assert.ok(name in layout.fields, `${s.name}.${name}`);
      }
    }
  });

  it('agree with the offsetof and sizeof of the C compiler, nested fields and bit containers too', () => {
    const expected: string[] = [];
    const lines: string[] = [];
    for (const [struct, layout] of Object.entries(STRUCT_LAYOUTS)) {
      lines.push(`printf("${struct} %zu\\n", sizeof(struct ${struct}));`);
      // C's struct ends at its flexible array; the spec's size counts the fields after it.
      const variable = Object.values(layout.fields).find((f) => f.lengthField !== undefined);
      expected.push(`${struct} ${variable?.offset ?? layout.size}`);
      for (const [path, field] of Object.entries(layout.fields)) {
        // A bit range other than a container's first has no C member of its own.
        if (field.bits !== undefined && field.bits.shift !== 0) continue;
        if (field.lengthField === undefined && afterVariable(layout.fields, path)) continue;
        const member = `((struct ${struct} *)0)->${path}`;
        const size = field.lengthField === undefined ? `sizeof(${member})` : '(size_t)0';
        lines.push(
          `printf("${struct}.${path} %zu %zu\\n", offsetof(struct ${struct}, ${path}), ${size});`,
        );
        expected.push(`${struct}.${path} ${field.offset} ${field.size}`);
      }
    }
    assert.ok(expected.length > 80, `only ${expected.length} lines`);
    assert.deepEqual(runWithHeader(['linux/virtio_iommu.h'], lines), expected);
  });

  it('give each later bit range the place of the container it lies in', () => {
    const ranges = Object.values(STRUCT_LAYOUTS).flatMap((layout) =>
      Object.values(layout.fields).filter((f) => f.bits !== undefined && f.bits.shift !== 0),
    );
    assert.ok(ranges.length > 0);
    for (const layout of Object.values(STRUCT_LAYOUTS)) {
      const fields = Object.values(layout.fields);
      for (const f of fields.filter((f) => f.bits !== undefined && f.bits.shift !== 0)) {
        const container = fields.find((c) => c.bits?.shift === 0 && c.offset === f.offset);
        assert.ok(container);
        assert.equal(f.size, container.size);
        assert.ok(f.bits!.shift + f.bits!.width <= 8 * f.size);
      }
    }
  });
});

describe('dist/ts request registry', () => {
  const model = specModel();
  const requests = model.structs.filter((s) => s.request);
  const entries = Object.entries(REQUESTS) as [string, RequestEntry<object, object>][];

  it('has one entry per request struct, with its type code, sizes and verb', () => {
    assert.deepEqual(
      entries.map(([, entry]) => entry.struct),
      requests.map((s) => s.name),
    );
    for (const [verb, entry] of entries) {
      const struct = requests.find((s) => s.name === entry.struct)!;
      const constant = model.constants.find((c) => c.name === struct.request!.type)!;
      assert.equal(entry.name, constant.name);
      assert.equal(entry.type, constant.value);
      assert.equal(REQUEST_VERBS[entry.type], verb);
      assert.equal(entry.readableSize, struct.request!.readableSize);
      assert.equal(entry.writableSize, struct.request!.writableSize);
      const variable = struct.fields.find((f) => f.kind === 'variable');
      assert.equal(entry.writableVariable, variable?.lengthField);
    }
  });

  it('gives a blank driver part that encodes to the type code and zeros, and decodes back', () => {
    for (const [verb, entry] of entries) {
      const bytes = new Uint8Array(entry.readableSize).fill(0xee);
      assert.equal(entry.encodeDriverPart(bytes, entry.blank()), entry.readableSize, verb);
      const zero = new Uint8Array(entry.readableSize);
      zero[0] = entry.type;
      assert.deepEqual(bytes, zero, verb);
      assert.deepEqual(entry.decodeDriverPart(bytes), entry.blank(), verb);
    }
  });

  it('encodes and decodes the device part, with the variable array where there is one', () => {
    for (const [verb, entry] of entries) {
      const length = entry.writableVariable === undefined ? 0 : 8;
      const bytes = new Uint8Array(2 + entry.writableSize + length);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
      const value = entry.decodeDevicePart(bytes, length, 2);
      const again = new Uint8Array(bytes.length);
      again.set(bytes.subarray(0, 2));
      assert.equal(
        entry.encodeDevicePart(again, value, length, 2),
        2 + entry.writableSize + length,
        verb,
      );
      assert.deepEqual(again, bytes, verb);
    }
  });
});

describe('dist/ts constants by name', () => {
  const model = specModel();

  it('hold every constant of the model with its value, and only those', () => {
    assert.equal(CONSTANTS_BY_NAME.size, model.constants.length);
    for (const c of model.constants) {
      assert.equal(CONSTANTS_BY_NAME.get(c.name), c.value, c.name);
      assert.equal((CONSTANTS as Record<string, number>)[c.name], c.value, c.name);
    }
    assert.equal(CONSTANTS_BY_NAME.get('SIZEOF_VIRTIO_IOMMU_CONFIG'), undefined);
  });

  it('name the feature bits of the feature group', () => {
    const features = model.groups.filter((g) => g.kind === 'feature').flatMap((g) => g.members);
    assert.deepEqual(Object.keys(FEATURE_BITS), features);
    for (const [name, bit] of Object.entries(FEATURE_BITS)) {
      assert.equal(bit, model.constants.find((c) => c.name === name)!.value);
    }
  });
});

describe('dist/ts virtio-pci common configuration', () => {
  // Linux's struct virtio_pci_common_cfg spells some fields its own way, splits each 64-bit
  // field into _lo and _hi, and ends before the fields virtio 1.2 added.
  const LINUX_NAMES: Record<string, string> = {
    driver_feature_select: 'guest_feature_select',
    driver_feature: 'guest_feature',
    config_msix_vector: 'msix_config',
    queue_desc: 'queue_desc_lo',
    queue_driver: 'queue_avail_lo',
    queue_device: 'queue_used_lo',
  };

  it("agrees with the offsetof and sizeof of Linux's struct virtio_pci_common_cfg", () => {
    const struct = 'struct virtio_pci_common_cfg';
    const lines = [`printf("size %zu\\n", sizeof(${struct}));`];
    const expected: string[] = [];
    let linuxSize = 0;
    for (const [name, field] of Object.entries(VIRTIO_PCI_COMMON_CFG)) {
      const linux = LINUX_NAMES[name] ?? name;
      if (field.offset >= 0x38) continue;
      const member = `((${struct} *)0)->${linux}`;
      // A 64-bit field: its low half, and the high half right after it.
      const size =
        field.size === 8
          ? `sizeof(${member}) + sizeof(((${struct} *)0)->${linux.replace(/_lo$/, '_hi')})`
          : `sizeof(${member})`;
      lines.push(`printf("${name} %zu %zu\\n", offsetof(${struct}, ${linux}), ${size});`);
      expected.push(`${name} ${field.offset} ${field.size}`);
      linuxSize = Math.max(linuxSize, field.offset + field.size);
    }
    const printed = runWithHeader(['linux/virtio_pci.h'], lines);
    assert.equal(printed[0], `size ${linuxSize}`);
    assert.deepEqual(printed.slice(1), expected);
  });

  it('places the fields virtio 1.2 added right after, up to its whole size', () => {
    const fields = Object.values(VIRTIO_PCI_COMMON_CFG);
    let offset = 0;
    for (const f of fields) {
      assert.equal(f.offset, offset);
      offset += f.size;
    }
    assert.equal(SIZEOF_VIRTIO_PCI_COMMON_CFG, offset);
    assert.equal(VIRTIO_PCI_COMMON_CFG.admin_queue_num.offset, 0x3e);
  });
});
