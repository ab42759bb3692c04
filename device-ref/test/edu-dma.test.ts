import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBoard } from '../board/board.js';
import { BusMasterDma } from '../platform/bus-master-dma.js';
import { loadBoardDescription } from '../board/description.js';
import { FindingLog } from '../platform/findings.js';
import { GuestRam } from '../platform/guest-ram.js';
import { PciFunction } from '../platform/pci/pci-function.js';
import { startQtestServer } from '../qtest/server.js';
import type { Translation } from '../platform/dma-translation.js';
import { echoIommuFactory } from './support/echo-device.js';
import { EDU_BAR, EDU_SLOT, manualHostClock, TestDriver } from './support/driver.js';
import { LineClient } from './support/qtest-client.js';
import { hexData } from './support/virtqueue.js';

const REG = {
  id: 0x00,
  liveness: 0x04,
  factorial: 0x08,
  status: 0x20,
  irq: 0x24,
  raise: 0x60,
  ack: 0x64,
  src: 0x80,
  dst: 0x88,
  cnt: 0x90,
  cmd: 0x98,
};
const MS = 1_000_000n;
const pattern = Uint8Array.from({ length: 256 }, (_, i) => (i * 13 + 5) & 0xff);

describe('edu endpoint', () => {
  let d: TestDriver;
  const edu = (reg: number, size: 4 | 8 = 4) => d.read(reg, size, EDU_BAR);
  const setEdu = (reg: number, value: number | bigint, size: 4 | 8 = 4) =>
    d.write(reg, size, value, EDU_BAR);
  const intx = () => (d.cfgRead(EDU_SLOT, 0x06, 2) & 0x08) !== 0;

  /** Programs a transfer; direction 'toEdu' is RAM → buffer. */
  const startDma = (
    direction: 'toEdu' | 'toRam',
    ram: number | bigint,
    count: number,
    irq = false,
  ) => {
    const buffer = 0x40000;
    setEdu(REG.src, direction === 'toEdu' ? ram : buffer, 8);
    setEdu(REG.dst, direction === 'toEdu' ? buffer : ram, 8);
    setEdu(REG.cnt, count, 8);
    setEdu(REG.cmd, 1 | (direction === 'toRam' ? 2 : 0) | (irq ? 4 : 0));
  };

  beforeEach(() => {
    d = new TestDriver('q35', manualHostClock());
    d.assignBars();
    d.ok(`write 0x100000 256 ${hexData(pattern)}`);
  });

  it('has edu identification, liveness and factorial registers', () => {
    assert.equal(edu(REG.id), 0x010000edn);
    setEdu(REG.liveness, 0x12345678);
    assert.equal(edu(REG.liveness), 0xedcba987n);
    setEdu(REG.factorial, 5);
    assert.equal(edu(REG.factorial), 120n);
    setEdu(REG.factorial, 13);
    assert.equal(edu(REG.factorial), 1932053504n, '13! modulo 2^32');
    setEdu(REG.factorial, 0xffffffff);
    assert.equal(edu(REG.factorial), 0n);
    assert.equal(edu(REG.status), 0n, 'never shows "computing"');
  });

  it('takes only 4-byte accesses below 0x80, as QEMU lets through', () => {
    assert.equal(d.cmd(`readb ${EDU_BAR}`), 'OK 0x0000000000000000');
    assert.equal(d.cmd(`readq ${EDU_BAR}`), 'OK 0xffffffffffffffff');
    d.write(REG.liveness, 1, 1, EDU_BAR);
    assert.equal(edu(REG.liveness), 0n, 'a 1-byte write is dropped');
    assert.equal(edu(0x0c), 0xffffffffn, 'an unknown register');
  });

  it('raises and acknowledges interrupts, shown as the INTx status bit', () => {
    setEdu(REG.raise, 0x5);
    assert.equal(edu(REG.irq), 5n);
    assert.equal(intx(), true);
    setEdu(REG.ack, 0x1);
    assert.equal(intx(), true);
    setEdu(REG.ack, 0x4);
    assert.equal(intx(), false);
    setEdu(REG.status, 0x80);
    setEdu(REG.factorial, 3);
    assert.equal(edu(REG.irq), 1n, 'factorial interrupt');
  });

  it('copies RAM → buffer → RAM through the IOMMU, 100 ms of virtual time after each command', () => {
    startDma('toEdu', 0x100000, 256);
    assert.equal(d.cmd('clock_step 99000000'), 'OK 99000000');
    assert.equal(edu(REG.cmd), 1n, 'still running');
    setEdu(REG.cnt, 1, 8);
    assert.equal(edu(REG.cnt, 8), 256n, 'registers are frozen while a transfer runs');
    assert.equal(d.cmd('clock_step'), 'OK 100000000', 'the next deadline is the transfer');
    assert.equal(edu(REG.cmd), 0n);
    startDma('toRam', 0x200000, 256);
    d.cmd('clock_step 100000000');
    assert.equal(d.cmd('read 0x200000 256'), `OK ${hexData(pattern)}`);
    assert.deepEqual(d.model.faults, []);
  });

  it('completes when host time passes, for clients that poll instead of stepping', () => {
    const hostClock = manualHostClock();
    d = new TestDriver('q35', hostClock);
    d.assignBars();
    d.ok(`write 0x100000 256 ${hexData(pattern)}`);
    hostClock.advance(3_400_000n);
    startDma('toEdu', 0x100000, 16);
    hostClock.advance(99n * MS);
    assert.equal(
      edu(REG.cmd),
      1n,
      'the deadline is the command time in whole ms plus 100 ms: 103 ms',
    );
    hostClock.advance(1n * MS);
    assert.equal(edu(REG.cmd), 0n);
    startDma('toRam', 0x200000, 16, true);
    hostClock.advance(100n * MS);
    assert.equal(edu(REG.irq), 0x100n, 'the DMA interrupt');
    assert.equal(intx(), true);
    assert.equal(d.cmd('read 0x200000 16'), `OK ${hexData(pattern.subarray(0, 16))}`);
  });

  it('does no DMA without bus mastering: reads give zeros, writes are dropped', () => {
    d.ok('memset 0x300000 16 0xaa');
    startDma('toEdu', 0x100000, 16);
    d.cmd('clock_step 100000000');
    d.cfgWrite(EDU_SLOT, 0x04, 2, 0x2);
    startDma('toRam', 0x300000, 16);
    d.cmd('clock_step 100000000');
    assert.equal(d.cmd('read 0x300000 16'), `OK 0x${'aa'.repeat(16)}`, 'write dropped');
    startDma('toEdu', 0x100000, 16);
    d.cmd('clock_step 100000000');
    d.cfgWrite(EDU_SLOT, 0x04, 2, 0x6);
    startDma('toRam', 0x300000, 16);
    d.cmd('clock_step 100000000');
    assert.equal(
      d.cmd('read 0x300000 16'),
      `OK 0x${'00'.repeat(16)}`,
      'the blocked read left zeros in the buffer',
    );
    const blocked = d.findingMessages().filter((m) => m.includes('blocked: bus mastering is off'));
    assert.equal(blocked.length, 2);
  });

  it('abandons the rest of a transfer at an IOMMU fault, reporting the endpoint ID', () => {
    d.ok(`write 0x100f80 256 ${hexData(pattern)}`);
    d.model.faultingPages.add(0x101n);
    startDma('toEdu', 0x100f80, 256);
    d.cmd('clock_step 100000000');
    startDma('toRam', 0x200000, 256);
    d.cmd('clock_step 100000000');
    const expected = new Uint8Array(256);
    expected.set(pattern.subarray(0, 128));
    assert.equal(
      d.cmd('read 0x200000 256'),
      `OK ${hexData(expected)}`,
      'the page before the fault arrived',
    );
    assert.deepEqual(d.model.faults, [
      { endpoint: EDU_SLOT << 3, iova: 0x101000n, access: 'read' },
    ]);
  });

  it('refuses a transfer whose edu side leaves the 4 KiB buffer, and clamps RAM addresses to dma_mask', () => {
    setEdu(REG.src, 0x100000, 8);
    setEdu(REG.dst, 0x40f00, 8);
    setEdu(REG.cnt, 0x200, 8);
    setEdu(REG.cmd, 1);
    d.cmd('clock_step 100000000');
    assert.equal(edu(REG.cmd), 0n, 'the command completes');
    assert.ok(
      d
        .findingMessages()
        .some((m) => m.includes('DMA refused: edu range 0x40f00+0x200 leaves the buffer')),
    );
    startDma('toEdu', 0x10100000, 16);
    d.cmd('clock_step 100000000');
    startDma('toRam', 0x200000, 16);
    d.cmd('clock_step 100000000');
    assert.equal(d.cmd('read 0x200000 16'), `OK ${hexData(pattern.subarray(0, 16))}`);
    assert.ok(
      d
        .findingMessages()
        .some((m) =>
          m.includes('DMA address 0x10100000 clamped to 0x100000 by dma_mask 0xfffffff'),
        ),
    );
  });

  it('serves a polling client over the socket in host time', async function () {
    this.timeout(5000);
    const dir = mkdtempSync(join(tmpdir(), 'viommu-edu-'));
    const server = await startQtestServer({
      listen: `unix:${join(dir, 'edu.sock')}`,
      board: () => createBoard(loadBoardDescription('q35'), { iommuModel: echoIommuFactory() }),
    });
    try {
      const client = await LineClient.connect(server.address);
      const cfg = (offset: number) => `outl 0xcf8 ${0x80000000 | (EDU_SLOT << 11) | offset}`;
      const bar = Number(EDU_BAR);
      await client.sendAll([
        cfg(0x10),
        `outl 0xcfc ${bar}`,
        cfg(0x04),
        'outw 0xcfc 6',
        'writel 0x100000 0x11223344',
        `writeq ${bar + 0x80} 0x100000`,
        `writeq ${bar + 0x88} 0x40000`,
        `writeq ${bar + 0x90} 4`,
        `writel ${bar + 0x98} 1`,
      ]);
      let polls = 0;
      while ((await client.send(`readl ${bar + 0x98}`)) !== 'OK 0x0000000000000000') {
        polls++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(polls >= 3, `done only after host time passed (${polls} polls)`);
      await client.sendAll([
        `writeq ${bar + 0x80} 0x40000`,
        `writeq ${bar + 0x88} 0x200000`,
        `writel ${bar + 0x98} 3`,
      ]);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(await client.send('readl 0x200000'), 'OK 0x0000000011223344');
      await client.close();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bus-master DMA', () => {
  class Endpoint extends PciFunction {
    constructor() {
      super(3 << 3, 'test', {
        vendorId: 1,
        deviceId: 2,
        revision: 0,
        classCode: 0,
        subsystemVendorId: 0,
        subsystemId: 0,
        interruptPin: 0,
      });
      this.config.write(0x04, 2, 0x4);
    }
  }
  const dmaWith = (translate: () => Translation) => {
    const findings = new FindingLog();
    const ram = new GuestRam(0x10000);
    ram.fill(0, 0x10000, 0x5a);
    const dma = new BusMasterDma(new Endpoint(), { ram, findings, iommu: { translate } });
    return { dma, findings, ram };
  };

  it('abandons a transfer when the IOMMU answers an invalid length', () => {
    const { dma, findings } = dmaWith(() => ({ ok: true, pa: 0n, length: 0 }));
    assert.deepEqual([...dma.read(0n, 4)], [0, 0, 0, 0]);
    assert.match(
      findings.entries[0]!.message,
      /test 00:03.0: the IOMMU translated 0x0 with an invalid length 0/,
    );
  });

  it('drops DMA that the IOMMU sends outside RAM', () => {
    const { dma, findings, ram } = dmaWith(() => ({ ok: true, pa: 0xfee00000n, length: 4 }));
    dma.write(0x1000n, Uint8Array.of(1, 2, 3, 4));
    assert.match(findings.entries[0]!.message, /translated to 0xfee00000, outside RAM; dropped/);
    assert.deepEqual([...ram.read(0, 4)], [0x5a, 0x5a, 0x5a, 0x5a]);
  });
});
