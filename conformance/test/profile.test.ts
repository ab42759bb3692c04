// Where a scenario's literal domain IDs and IOVAs go on a device with narrow ranges
// (profile.ts placeLiterals): unchanged when they fit, moved up by the range's start when
// they do not, untested when the move cannot keep the scenario's meaning.

import assert from 'node:assert/strict';
import { placeLiterals, type Literal } from '../profile.js';

const at = (...values: bigint[]): Literal[] => values.map((value, i) => ({ value, line: i + 1 }));

describe('profile: literal domains and IOVAs on narrow ranges', () => {
  const domains = { start: 4n, end: 15n };
  const inputs = { start: 0x1_0000n, end: 0x7ff_ffffn };

  it('leaves literals alone on a device without the range, or when they fit it', () => {
    assert.deepEqual(placeLiterals('domain', at(1n, 2n), false, undefined), { shift: 0n });
    assert.deepEqual(placeLiterals('domain', at(4n, 15n), true, domains), { shift: 0n });
  });

  it("moves every literal up by the range's start, IOVAs by a multiple of 64 KiB", () => {
    const placed = placeLiterals('domain', at(1n, 2n), false, domains);
    assert.equal('shift' in placed && placed.shift, 4n);
    assert.match(
      (placed as { note: string }).note,
      /domain 1 \(line 1\) is outside domain_range 4..15/,
    );
    const iova = placeLiterals(
      'IOVA',
      at(0x1000n, 0x7ff0n),
      false,
      { ...inputs, start: 0x1_2000n },
      0x1_0000n,
    );
    assert.equal('shift' in iova && iova.shift, 0x2_0000n);
  });

  it('leaves untested a scenario that names the kind by a symbol too, or whose moved values do not fit', () => {
    assert.match(
      (placeLiterals('domain', at(1n), true, domains) as { untested: string }).untested,
      /names domains by symbols too/,
    );
    assert.match(
      (placeLiterals('domain', at(1n, 12n), false, domains) as { untested: string }).untested,
      /domain 12 \(line 2\) would be too/,
    );
    assert.ok('untested' in placeLiterals('IOVA', at(0xfee0_0000n), false, inputs, 0x1_0000n));
  });
});
