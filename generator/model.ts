// The spec model: what `viommu build` makes of spec-src/ and writes to dist/spec.json.
// schemas/spec-model.schema.json describes the same shape for ajv; keep the two together. The
// statements, their scenarios and the drafts are typed once, from the schemas (dist/ts/schemas/).

import type { Draft, SourcePlace, Statement } from '../dist/ts/schemas/cases.js';

export type {
  DmaExpectation,
  Draft,
  Level,
  RequestExpectation,
  RequestVerb,
  Role,
  Scenario,
  SourcePlace,
  Statement,
  Step,
  Value,
} from '../dist/ts/schemas/cases.js';

export type ScalarType = 'u8' | 'le16' | 'le32' | 'le64';
export type RequestPart = 'readable' | 'writable';

export interface Section {
  slug: string;
  title: string;
  depth: number;
  source: SourcePlace;
}

export interface BitRange {
  name: string;
  shift: number;
  width: number;
}

export interface ScalarField {
  kind: 'scalar';
  name: string;
  type: ScalarType;
  offset: number;
  /** Total size in bytes: element size times `count`. */
  size: number;
  /** Fixed array length; absent for a plain scalar. */
  count?: number;
  part?: RequestPart;
  doc?: string;
  source: SourcePlace;
}

export interface StructField {
  kind: 'struct';
  name: string;
  struct: string;
  offset: number;
  size: number;
  part?: RequestPart;
  doc?: string;
  source: SourcePlace;
}

/** An anonymous little-endian container split into named bit ranges. */
export interface BitsField {
  kind: 'bits';
  /** The name of the container: the name of its first bit range. */
  name: string;
  type: ScalarType;
  offset: number;
  size: number;
  bits: BitRange[];
  part?: RequestPart;
  doc?: string;
  source: SourcePlace;
}

/** An array whose length in elements is a device configuration field (`u8 properties[probe_size]`). */
export interface VariableField {
  kind: 'variable';
  name: string;
  type: ScalarType;
  offset: number;
  elementSize: number;
  /** Dotted name of the configuration field that gives the length. */
  lengthField: string;
  part?: RequestPart;
  doc?: string;
  source: SourcePlace;
}

export type Field = ScalarField | StructField | BitsField | VariableField;

export interface RequestLayout {
  /** The `VIRTIO_IOMMU_T_*` constant this structure carries. */
  type: string;
  /** Size of the device-readable part (it always starts at offset 0). */
  readableSize: number;
  /** Size of the device-writable part, not counting a variable array. */
  writableSize: number;
  /** The variable array inside the writable part, if any. */
  writableVariable?: string;
}

export interface Struct {
  name: string;
  section: string;
  /** Fixed size in bytes; a variable array counts as empty. */
  size: number;
  /** Fields that follow a variable array have offsets as if that array were empty. */
  variable?: string;
  fields: Field[];
  request?: RequestLayout;
  doc?: string;
  /** The draft it comes from (`viommu build --drafts`); absent for the spec itself. */
  draft?: string;
  source: SourcePlace;
}

export interface Constant {
  name: string;
  value: number;
  /** The value as the spec writes it: `4`, `0x10`, `(1 << 8)`. */
  expression: string;
  group: string;
  doc?: string;
  section: string;
  /** The draft it comes from (`viommu build --drafts`); absent for the spec itself. */
  draft?: string;
  source: SourcePlace;
}

export type GroupKind = 'feature' | 'enum' | 'flags';

export interface ConstantGroup {
  prefix: string;
  kind: GroupKind;
  section: string;
  members: string[];
}

export interface Virtqueue {
  index: number;
  name: string;
  purpose: string;
}

export interface SpecModel {
  title: string;
  version: string;
  /**
   * A historic version of the spec (spec-src/versions/NAME.md, resolved along its chain):
   * its name. Absent for the current spec.
   */
  specVersion?: string;
  /**
   * How a historic version lays out its structs in C: `natural` (C's padding) or `packed`
   * (`__attribute__((packed))`). Absent for the current spec, whose fields need no padding.
   */
  layout?: 'natural' | 'packed';
  deviceId: number;
  sections: Section[];
  virtqueues: Virtqueue[];
  structs: Struct[];
  constants: Constant[];
  groups: ConstantGroup[];
  statements: Statement[];
  retiredIds: string[];
  /** The drafts built in (`--drafts`); absent without them. */
  drafts?: Draft[];
}
