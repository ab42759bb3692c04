// Findings the driver makes on every reply become failures of their own statement in the
// test's judgement, whatever the test that saw them judges.

import assert from 'node:assert/strict';
import { Judgement, judgeReplies } from '../suite/harness.js';

describe('reply findings', () => {
  const finding = (message: string) => ({
    statement: 'dev.req.tail-reserved',
    message,
    request: Uint8Array.of(0x01),
    reply: Uint8Array.of(0x04, 0x00, 0x01, 0x00),
  });

  it('judges nothing when the replies broke nothing', () => {
    const judgement = new Judgement(['dev.attach.reserved']);
    judgeReplies(judgement, []);
    assert.deepEqual([...judgement.outcomes], []);
  });

  it("fails each statement once, with the first reply as evidence, beside the test's own", () => {
    const judgement = new Judgement(['dev.attach.reserved']);
    judgement.pass('dev.attach.reserved');
    judgeReplies(judgement, [
      finding('ATTACH answered S_INVAL with tail.reserved 000100'),
      finding('second'),
    ]);
    assert.deepEqual(Object.fromEntries(judgement.outcomes), {
      'dev.attach.reserved': { outcome: 'pass' },
      'dev.req.tail-reserved': {
        outcome: 'fail',
        evidence: {
          message: 'ATTACH answered S_INVAL with tail.reserved 000100 (and 1 more replies)',
          request: '01',
          reply: '04000100',
        },
      },
    });
  });
});
