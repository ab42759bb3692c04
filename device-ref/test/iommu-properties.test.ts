// Random request sequences against a model that knows only pages: the device answers as the
// model predicts, a refused request changes nothing, translations agree with the model, and
// an endpoint reaches only what its domain maps unless it is in bypass mode.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
} from '../../dist/ts/index.js';
import {
  ALL_FEATURES,
  attach,
  detach,
  deviceState,
  dma,
  EP,
  EP2,
  EP3,
  makeDevice,
  map,
  NONEXISTENT,
  RAM,
  unmap,
  type Harness,
} from './iommu-harness.js';

const ENDPOINTS = [EP, EP2, EP3];
const PAGES = 24;
const page = (n: number): bigint => BigInt(n) * 0x1000n;

type Command =
  | { op: 'attach'; domain: number; endpoint: number; bypass: boolean; reserved: number }
  | { op: 'detach'; domain: number; endpoint: number }
  | {
      op: 'map';
      domain: number;
      first: number;
      pages: number;
      phys: number;
      flags: number;
      misaligned: boolean;
    }
  | { op: 'unmap'; domain: number; first: number; last: number; reserved: number }
  | { op: 'bypass'; value: 0 | 1 }
  | { op: 'reset' }
  | { op: 'dma'; endpoint: number; page: number; offset: number; access: 'read' | 'write' };

const endpoint = fc.constantFrom(EP, EP2, EP3, EP, EP2, EP3, NONEXISTENT);
const domain = fc.constantFrom(1, 1, 1, 2, 2, 3);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('attach' as const),
      domain,
      endpoint,
      bypass: fc.constantFrom(false, false, false, true),
      reserved: fc.constantFrom(0, 0, 0, 0, 1),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('detach' as const), domain, endpoint }) },
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant('map' as const),
      domain,
      first: fc.nat(PAGES - 1),
      pages: fc.integer({ min: 1, max: 4 }),
      phys: fc.nat(1023),
      flags: fc.constantFrom(1, 2, 3, 3, 3, 0, 5, 8),
      misaligned: fc.constantFrom(false, false, false, false, true),
    }),
  },
  {
    weight: 8,
    arbitrary: fc
      .record({
        op: fc.constant('unmap' as const),
        domain,
        first: fc.nat(PAGES - 1),
        length: fc.nat(8),
        reserved: fc.constantFrom(0, 0, 0, 0, 2),
      })
      .map(({ length, ...rest }) => ({ ...rest, last: rest.first + length })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('bypass' as const),
      value: fc.constantFrom(0 as const, 1 as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reset' as const) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('dma' as const),
      endpoint: fc.constantFrom(EP, EP2, EP3),
      page: fc.nat(PAGES + 2),
      offset: fc.nat(0xff0),
      access: fc.constantFrom('read' as const, 'write' as const),
    }),
  },
);

interface ModelMapping {
  first: number;
  last: number;
  phys: number;
  flags: number;
}

interface ModelDomain {
  bypass: boolean;
  members: Set<number>;
  mappings: ModelMapping[];
}

/** The device as pages: who is in which domain, and which page maps where. */
class Model {
  domains = new Map<number, ModelDomain>();
  attached = new Map<number, number>();
  bypass: 0 | 1 = 0;

  leave(ep: number): void {
    const id = this.attached.get(ep);
    if (id === undefined) return;
    const d = this.domains.get(id)!;
    d.members.delete(ep);
    if (d.members.size === 0) this.domains.delete(id);
    this.attached.delete(ep);
  }

  apply(c: Command): number | undefined {
    switch (c.op) {
      case 'attach': {
        if (c.reserved !== 0) return VIRTIO_IOMMU_S_INVAL;
        if (!ENDPOINTS.includes(c.endpoint)) return VIRTIO_IOMMU_S_NOENT;
        const existing = this.domains.get(c.domain);
        if (existing && existing.bypass !== c.bypass) return VIRTIO_IOMMU_S_INVAL;
        if (this.attached.get(c.endpoint) !== c.domain) this.leave(c.endpoint);
        const d = this.domains.get(c.domain) ?? {
          bypass: c.bypass,
          members: new Set<number>(),
          mappings: [],
        };
        this.domains.set(c.domain, d);
        d.members.add(c.endpoint);
        this.attached.set(c.endpoint, c.domain);
        return VIRTIO_IOMMU_S_OK;
      }
      case 'detach':
        if (!ENDPOINTS.includes(c.endpoint)) return VIRTIO_IOMMU_S_NOENT;
        if (this.attached.get(c.endpoint) !== c.domain) return VIRTIO_IOMMU_S_INVAL;
        this.leave(c.endpoint);
        return VIRTIO_IOMMU_S_OK;
      case 'map': {
        if (c.flags & 8) return VIRTIO_IOMMU_S_INVAL;
        if (c.misaligned) return VIRTIO_IOMMU_S_RANGE;
        const d = this.domains.get(c.domain);
        if (!d) return VIRTIO_IOMMU_S_NOENT;
        if (d.bypass) return VIRTIO_IOMMU_S_INVAL;
        const last = c.first + c.pages - 1;
        if (d.mappings.some((m) => m.first <= last && c.first <= m.last))
          return VIRTIO_IOMMU_S_INVAL;
        d.mappings.push({ first: c.first, last, phys: c.phys, flags: c.flags });
        return VIRTIO_IOMMU_S_OK;
      }
      case 'unmap': {
        if (c.reserved !== 0) return VIRTIO_IOMMU_S_INVAL;
        const d = this.domains.get(c.domain);
        if (!d) return VIRTIO_IOMMU_S_NOENT;
        if (d.bypass) return VIRTIO_IOMMU_S_INVAL;
        const touched = d.mappings.filter((m) => m.first <= c.last && c.first <= m.last);
        if (touched.some((m) => m.first < c.first || m.last > c.last)) return VIRTIO_IOMMU_S_RANGE;
        d.mappings = d.mappings.filter((m) => !touched.includes(m));
        return VIRTIO_IOMMU_S_OK;
      }
      case 'bypass':
        this.bypass = c.value;
        return undefined;
      case 'reset':
        this.domains.clear();
        this.attached.clear();
        return undefined;
      case 'dma':
        return undefined;
    }
  }

  /** Where an access lands, or undefined when it is refused. */
  translate(ep: number, address: bigint, access: 'read' | 'write'): bigint | undefined {
    const id = this.attached.get(ep);
    if (id === undefined) return this.bypass === 1 ? address : undefined;
    const d = this.domains.get(id)!;
    if (d.bypass) return address;
    const n = Number(address / 0x1000n);
    const m = d.mappings.find((x) => x.first <= n && n <= x.last);
    const needed = access === 'write' ? VIRTIO_IOMMU_MAP_F_WRITE : VIRTIO_IOMMU_MAP_F_READ;
    if (!m || (m.flags & needed) === 0) return undefined;
    return RAM + page(m.phys) + address - page(m.first);
  }
}

function run(h: Harness, c: Command): number | undefined {
  switch (c.op) {
    case 'attach':
      return attach(h, {
        domain: c.domain,
        endpoint: c.endpoint,
        flags: c.bypass ? VIRTIO_IOMMU_ATTACH_F_BYPASS : 0,
        reserved: c.reserved,
      });
    case 'detach':
      return detach(h, { domain: c.domain, endpoint: c.endpoint });
    case 'map':
      return map(h, {
        domain: c.domain,
        virt_start: page(c.first) + (c.misaligned ? 0x800n : 0n),
        virt_end: page(c.first + c.pages) - 1n,
        phys_start: RAM + page(c.phys),
        flags: c.flags,
      });
    case 'unmap':
      return unmap(h, {
        domain: c.domain,
        virt_start: page(c.first),
        virt_end: page(c.last + 1) - 1n,
        reserved: c.reserved,
      });
    case 'bypass':
      h.device.writeConfig(36, 1, c.value);
      return undefined;
    case 'reset':
      h.device.reset();
      h.device.featuresAccepted(ALL_FEATURES);
      return undefined;
    case 'dma':
      return undefined;
  }
}

function show(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    typeof v === 'bigint' ? `0x${v.toString(16)}` : v,
  );
}

/** Checks one access against the model, and that it lands only where the device's own state allows. */
function checkAccess(
  h: Harness,
  model: Model,
  ep: number,
  address: bigint,
  access: 'read' | 'write',
): void {
  const t = dma(h, ep, access, address, 8);
  const expected = model.translate(ep, address, access);
  assert.deepEqual(
    t.ok ? t.pa : undefined,
    expected,
    `${access} by ${ep} at ${address.toString(16)}`,
  );
  if (!t.ok) return;
  // Isolation, from the device's state alone.
  const state = h.device.core.endpoints.get(ep)!;
  if (h.device.core.inBypass(state)) {
    assert.equal(t.pa, address);
    return;
  }
  const mapping = state.domain?.mappings.lookup(address);
  assert.ok(mapping, `${ep} reached ${address.toString(16)} without a mapping`);
  assert.equal(t.pa, mapping.phys_start + address - mapping.virt_start);
  assert.ok(address + BigInt(t.length) - 1n <= mapping.virt_end);
}

describe('iommu core against a model of pages', () => {
  it('answers as the model, changes nothing when it refuses, and translates as the model', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0 as const, 1 as const),
        fc.array(command, { minLength: 1, maxLength: 80, size: 'max' }),
        (bypass, commands) => {
          const h = makeDevice({ bypass });
          const model = new Model();
          model.bypass = bypass;
          const prelude: Command[] = [
            { op: 'attach', domain: 1, endpoint: EP, bypass: false, reserved: 0 },
            { op: 'attach', domain: 2, endpoint: EP2, bypass: false, reserved: 0 },
          ];
          for (const c of [...prelude, ...commands]) {
            if (c.op === 'dma') {
              checkAccess(h, model, c.endpoint, page(c.page) + BigInt(c.offset), c.access);
              continue;
            }
            const before = deviceState(h);
            const expected = model.apply(c);
            const status = run(h, c);
            assert.equal(status, expected, show(c));
            if (status !== undefined && status !== VIRTIO_IOMMU_S_OK)
              assert.deepEqual(deviceState(h), before, `refused ${show(c)} changed the state`);
          }
          for (const ep of ENDPOINTS) {
            for (let p = 0; p < PAGES + 4; p++) {
              checkAccess(h, model, ep, page(p) + 0x10n, 'read');
              checkAccess(h, model, ep, page(p) + 0xff8n, 'write');
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
