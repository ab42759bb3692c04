// Findings the driver makes on every reply become failed records of their own statement,
// whatever the test that saw them judges.

import assert from 'node:assert/strict';
import { findingRecords, type TestRecord } from '../suite/harness.js';

describe('reply findings', () => {
  const base: TestRecord = {
    title: '[dev.attach.reserved] x',
    statements: ['dev.attach.reserved'],
    outcome: 'pass',
    durationMs: 5,
  };

  it('gives no record when the replies broke nothing', () => {
    assert.deepEqual(findingRecords(base), []);
  });

  it('gives one failed record per statement, with the first reply as evidence', () => {
    const finding = (message: string) => ({
      statement: 'dev.req.tail-reserved',
      evidence: { message, request: '01', reply: '04000100' },
    });
    const records = findingRecords({
      ...base,
      findings: [finding('ATTACH answered S_INVAL with tail.reserved 000100'), finding('second')],
    });
    assert.deepEqual(records, [
      {
        title: '[dev.req.tail-reserved] every reply, during: [dev.attach.reserved] x',
        statements: ['dev.req.tail-reserved'],
        outcome: 'fail',
        durationMs: 0,
        evidence: {
          message: 'ATTACH answered S_INVAL with tail.reserved 000100 (and 1 more replies)',
          request: '01',
          reply: '04000100',
        },
      },
    ]);
  });
});
