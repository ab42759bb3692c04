// The robustness probes against device-ref, and against device-ref behind a proxy that fails
// the one guest write only the padded-request probes make (the request slot of 96 KiB): a
// device that fails a guest store while handling it broke on guest input, whatever the
// stimulus, and that is a finding, never "refused".

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runRobustnessProbes } from '../robustness/probes.js';
import { REF_BOARD, RefServer, RefTarget } from '../targets/ref.js';
import { SocketTarget } from '../targets/socket.js';
import { startRefusingProxy, type RefusingProxy } from './support/refusing-proxy.js';
import { usePrivateTmpdir } from './support/private-tmpdir.js';

/** A b64write of 64 KiB or more: only the padded requests' slot is that large. */
const failLargeWrite = (line: string): string | undefined => {
  const [command, , size] = line.split(' ');
  return command === 'b64write' && Number(size) >= 0x1_0000
    ? 'FAIL Internal error: planted'
    : undefined;
};

describe('robustness probes', function () {
  this.timeout(120_000);
  const tmp = usePrivateTmpdir('viommu-probes-test-');
  let server: RefServer;
  let proxy: RefusingProxy;

  before(async () => {
    server = new RefServer();
    proxy = await startRefusingProxy(server, join(tmp(), 'failing.sock'), failLargeWrite);
  });
  after(async () => {
    await proxy.close();
    await server.close();
  });

  it('find nothing on device-ref: padded requests are answered and isolation holds after them', async () => {
    const findings = await runRobustnessProbes(() => new RefTarget(server));
    const padded = findings.filter((f) => f.probe.startsWith('padded-request'));
    assert.deepEqual(
      padded.map((f) => [f.probe, f.outcome]),
      [
        ['padded-request', 'ok'],
        ['padded-request-split', 'ok'],
      ],
    );
    assert.match(padded[0]!.message ?? '', /padded to 98304 device-readable bytes in 1 descriptor/);
    assert.deepEqual(
      findings.filter((f) => f.outcome !== 'ok'),
      [],
    );
  });

  it('make a guest write the device fails a finding (broken), not a refusal', async () => {
    const findings = await runRobustnessProbes(
      () => new SocketTarget(proxy.address, { ramSize: REF_BOARD.ram_size }),
    );
    const padded = findings.filter((f) => f.probe.startsWith('padded-request'));
    assert.deepEqual(
      padded.map((f) => f.outcome),
      ['broken', 'broken'],
    );
    for (const f of padded)
      assert.match(f.message ?? '', /b64write .* failed: FAIL Internal error: planted/);
    assert.ok(proxy.refused.length >= 2);
    assert.deepEqual(
      findings.filter((f) => !f.probe.startsWith('padded-request') && f.outcome !== 'ok'),
      [],
    );
  });
});
