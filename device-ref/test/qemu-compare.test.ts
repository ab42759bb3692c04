// The same commands to QEMU 7.2 (q35 + virtio-iommu-pci + edu) and to device-ref's q35
// board: replies that do not depend on the IOMMU's own behaviour must match byte for byte,
// and so must a system reset through port 0xcf9 and what it leaves of the IOMMU.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STRUCT_LAYOUTS } from '../../dist/ts/index.js';
import { createBoard } from '../board/board.js';
import { loadBoardDescription } from '../board/description.js';
import { startQtestServer } from '../qtest/server.js';
import { createIommuModel } from '../board/iommu-model.js';
import { echoIommuFactory } from './support/echo-device.js';
import { qemuAvailable, startQemu } from './support/qemu.js';
import { LineClient } from './support/qtest-client.js';

const CONFIG_ENABLE = 0x80000000;
const cfgAddress = (slot: number, offset: number) =>
  `outl 0xcf8 ${CONFIG_ENABLE | (slot << 11) | offset}`;

function commandList(): string[] {
  const lines = [
    'endianness',
    'endianness with extra words',
    // RAM, every width and form
    'write 0x100000 4 0xdeadbeef',
    'read 0x100000 0x10',
    'readl 0x100000',
    'write 0x100000 4 0x1',
    'read 0x100000 4',
    'write 0x100000 2 0xab',
    'read 0x100000 4',
    'write 0x100000 1 0x',
    'write 0x100000 2 0xzz1g',
    'read 0x100000 2',
    'write 0x100000 2 0xAbCd',
    'write 0x100000 0 0x12',
    'write 0x100000 2 12345',
    'read 0x100000 2',
    'b64read 0x100000 0',
    'b64read 0x100000 5',
    'b64write 0x100000 3 AQID',
    'read 0x100000 4',
    'b64write 0x100000 2 AQID',
    'b64write 0x100000 3 A',
    'b64write 0x100000 3 A*Q!I:D',
    'b64write 0x100000 1 AQ==',
    'read 0x100000 4',
    'memset 0x100000 0 5',
    'memset 0x100000 4 0x1ff',
    'read 0x100000 4',
    'memset 0x100000 2 -1',
    'writeb 0x100000 -1',
    'readq 0x100000',
    'writew 0x100000 0x123456',
    'readq 0x100000',
    'writeq 0x100000 -2',
    'readq 0x100000',
    'writel 0x100000 +5',
    'readl 0x100000',
    'writel 0x100000 0X10',
    'readl 0100000',
    'readw 0x100001',
    'readb 0x100000 ',
    'write 0x200000 32 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    'b64read 0x200000 32',
    'read 0x200008 8',
    'readq 0x200008',
    // unused ports
    'inb 0x1234',
    'inw 0x1234',
    'inl 0x1234',
    'outb 0x1234 0x1ff',
    // unknown commands
    'xyz',
    'XYZ abc',
    ' outb',
    'readb\t0x100000',
    'clock_stepper 5',
    // PCI configuration mechanism #1
    'outl 0xcf8 0',
    'inl 0xcfc',
    `outl 0xcf8 ${CONFIG_ENABLE | (1 << 11)}`,
    'inl 0xcf8',
    'inb 0xcf8',
    'inw 0xcfa',
    'inb 0xcfd',
    'inw 0xcfe',
    `outl 0xcf8 ${CONFIG_ENABLE | (1 << 11) | 1}`,
    'inl 0xcfc',
    'outb 0xcf8 0x10',
    'inl 0xcf8',
  ];
  for (const slot of [0, 1, 2, 3, 30])
    lines.push(cfgAddress(slot, 0), 'inl 0xcfc', 'inw 0xcfc', 'inw 0xcfe');
  // The whole configuration space of the q35 host bridge, and its COMMAND register.
  for (let offset = 0; offset < 256; offset += 4) lines.push(cfgAddress(0, offset), 'inl 0xcfc');
  lines.push(cfgAddress(0, 0x04), 'outw 0xcfc 0xffff', 'inl 0xcfc', 'outw 0xcfc 0', 'inl 0xcfc');
  // The reset control register at 0xcf9, inside the configuration address's 0xcf8-0xcfb,
  // with every write that does not reset (bit 2 clear).
  lines.push(
    'inb 0xcf9',
    'inw 0xcf9',
    'inl 0xcf9',
    'outb 0xcf9 0xfb',
    'inb 0xcf9',
    'inw 0xcf8',
    'inl 0xcf8',
    'inb 0xcfa',
    'outw 0xcf8 0x1234',
    'inl 0xcf9',
    'outl 0xcf9 0x2',
    'inb 0xcf9',
    'outw 0xcf9 0x8',
    'inw 0xcf9',
    'inl 0xcf8',
    'outb 0xcf9 0',
    'inb 0xcf9',
  );
  // The whole configuration space of the virtio-iommu function (header, capabilities).
  for (let offset = 0; offset < 256; offset += 4) lines.push(cfgAddress(1, offset), 'inl 0xcfc');
  // BAR sizing: 64-bit BAR 4 of virtio-iommu, BAR 0 of edu, the ROM BAR.
  for (const [slot, offset] of [
    [1, 0x20],
    [1, 0x24],
    [1, 0x10],
    [1, 0x30],
    [2, 0x10],
    [2, 0x14],
  ] as const) {
    lines.push(cfgAddress(slot, offset), 'outl 0xcfc 0xffffffff', 'inl 0xcfc');
  }
  // Place the BARs, enable memory and bus mastering, read back COMMAND.
  lines.push(cfgAddress(1, 0x20), 'outl 0xcfc 0xe0000000', cfgAddress(1, 0x24), 'outl 0xcfc 0');
  lines.push(cfgAddress(1, 0x04), 'outw 0xcfc 0xffff', 'inl 0xcfc', 'outw 0xcfc 0x6', 'inl 0xcfc');
  lines.push(cfgAddress(2, 0x10), 'outl 0xcfc 0xe1000000', cfgAddress(2, 0x04), 'outw 0xcfc 0x6');
  // The virtio common configuration: features, queues, MSI-X vectors (none), ISR.
  const B = 0xe0000000;
  lines.push(
    `readl ${B}`,
    `readl ${B + 4}`,
    `writel ${B} 1`,
    `readl ${B + 4}`,
    `writel ${B} 2`,
    `readl ${B + 4}`,
    `writel ${B} 0`,
    `readw ${B + 4}`,
    `readw ${B + 0x10}`,
    `readw ${B + 0x12}`,
    `readb ${B + 0x14}`,
    `readb ${B + 0x15}`,
    `writew ${B + 0x10} 0`,
    `readw ${B + 0x10}`,
  );
  for (const queue of [0, 1, 2]) {
    lines.push(
      `writew ${B + 0x16} ${queue}`,
      `readw ${B + 0x18}`,
      `readw ${B + 0x1a}`,
      `readw ${B + 0x1c}`,
      `readw ${B + 0x1e}`,
      `readq ${B + 0x20}`,
    );
  }
  lines.push(`readb ${B + 0x1000}`, `readw ${B + 0x3000}`);
  // edu registers that do not involve DMA.
  const E = 0xe1000000;
  lines.push(
    `readl ${E}`,
    `readq ${E}`,
    `readb ${E}`,
    `readw ${E}`,
    `readq ${E + 0x80}`,
    `readl ${E + 0x84}`,
    `readl ${E + 0xc}`,
    `readl ${E + 0x40000}`,
    `writel ${E + 4} 0x12345678`,
    `readl ${E + 4}`,
    `writeb ${E + 4} 1`,
    `readl ${E + 4}`,
    `readl ${E + 0x20}`,
    `writeq ${E + 0x80} 0x1122334455667788`,
    `readq ${E + 0x80}`,
    `writel ${E + 0x80} 0x99`,
    `readq ${E + 0x80}`,
    `writel ${E + 0x84} 0x77`,
    `readq ${E + 0x80}`,
    `read ${E + 0x80} 6`,
    `read ${E} 8`,
    `read ${E + 1} 4`,
    `writel ${E + 0x60} 0x5`,
    `readl ${E + 0x24}`,
    `writel ${E + 0x64} 0x1`,
    `readl ${E + 0x24}`,
  );
  // Not compared: edu's factorial (QEMU computes it in a thread, so a pipelined read races
  // it) and edu's PCI status (QEMU's edu has an MSI capability, ours has none).

  return lines;
}

const B = 0xe0000000;
const E = 0xe1000000;
const BYPASS = B + 0x2000 + STRUCT_LAYOUTS.virtio_iommu_config.fields.bypass.offset;

/** The virtio-iommu BAR at B and edu's at E, each with memory decode and bus mastering on. */
function placeBars(): string[] {
  return [
    cfgAddress(1, 0x20),
    'outl 0xcfc 0xe0000000',
    cfgAddress(1, 0x04),
    'outw 0xcfc 0x6',
    cfgAddress(2, 0x10),
    'outl 0xcfc 0xe1000000',
    cfgAddress(2, 0x04),
    'outw 0xcfc 0x6',
  ];
}

/** Device state a system reset should reset, or keep: set it, then ask 0xcf9 for the reset. */
function beforeReset(): string[] {
  return [
    'writel 0x100000 0x12345678',
    ...placeBars(),
    `writel ${E + 4} 0x12345678`,
    // Feature negotiation: every feature QEMU offers (0x77), VERSION_1; then bypass = 0.
    `writeb ${B + 0x14} 1`,
    `writeb ${B + 0x14} 3`,
    `writel ${B + 0x08} 0`,
    `writel ${B + 0x0c} 0x77`,
    `writel ${B + 0x08} 1`,
    `writel ${B + 0x0c} 1`,
    `writeb ${B + 0x14} 0xb`,
    `readb ${B + 0x14}`,
    `readb ${BYPASS}`,
    `writeb ${BYPASS} 0`,
    `readb ${BYPASS}`,
    `writeb ${B + 0x14} 0xf`,
    `readb ${B + 0x14}`,
    'outb 0xcf9 0x2',
    cfgAddress(0, 0x60),
    'outb 0xcf9 0x6',
  ];
}

/**
 * What is left after the reset; the BARs are placed again to look inside. (Not edu's COMMAND
 * register: its status half differs, QEMU's edu having an MSI capability.)
 */
function afterReset(): string[] {
  return [
    'inb 0xcf9',
    'inl 0xcf8',
    'inl 0xcfc',
    'readl 0x100000',
    cfgAddress(1, 0x04),
    'inl 0xcfc',
    cfgAddress(1, 0x20),
    'inl 0xcfc',
    cfgAddress(2, 0x10),
    'inl 0xcfc',
    ...placeBars(),
    `readb ${B + 0x14}`,
    `readb ${BYPASS}`,
    `writel ${B} 0`,
    `readl ${B + 4}`,
    `writel ${B + 0x08} 0`,
    `writel ${B + 0x0c} 0x77`,
    `writew ${B + 0x16} 0`,
    `readw ${B + 0x18}`,
    `readw ${B + 0x1c}`,
    `readl ${E + 4}`,
  ];
}

/**
 * QEMU resets the system once its main loop runs again, after the chunk of commands that
 * asked for it; device-ref at once. Wait until virtio-iommu's COMMAND reads 0 again.
 */
async function waitForReset(client: LineClient): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const [, command] = await client.sendAll([cfgAddress(1, 0x04), 'inl 0xcfc']);
    if (command === 'OK 0x100000') return;
    if (Date.now() > deadline) throw new Error(`no system reset: COMMAND reads ${command}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('device-ref against QEMU 7.2, byte for byte', function () {
  this.timeout(30_000);

  before(function () {
    if (!qemuAvailable()) this.skip();
  });

  it('answers state-independent commands exactly as QEMU does', async () => {
    const lines = commandList();
    const qemu = await startQemu();
    const dir = mkdtempSync(join(tmpdir(), 'viommu-compare-'));
    const server = await startQtestServer({
      listen: `unix:${join(dir, 'ref.sock')}`,
      board: () => createBoard(loadBoardDescription('q35'), { iommuModel: echoIommuFactory() }),
    });
    try {
      const ours = await LineClient.connect(server.address);
      const [theirs, mine] = await Promise.all([qemu.client.sendAll(lines), ours.sendAll(lines)]);
      await ours.close();
      const differences = lines
        .map((line, i) => ({ line, qemu: theirs[i], ours: mine[i] }))
        .filter((row) => row.qemu !== row.ours);
      assert.deepEqual(differences, []);
    } finally {
      await server.close();
      await qemu.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dev.config.bypass-system-reset: a system reset through 0xcf9 leaves what QEMU leaves', async () => {
    const qemu = await startQemu();
    const dir = mkdtempSync(join(tmpdir(), 'viommu-compare-'));
    const server = await startQtestServer({
      listen: `unix:${join(dir, 'ref.sock')}`,
      board: () => createBoard(loadBoardDescription('q35'), { iommuModel: createIommuModel }),
    });
    try {
      const ours = await LineClient.connect(server.address);
      const run = async (client: LineClient) => {
        const before = await client.sendAll(beforeReset());
        await waitForReset(client);
        return [...before, ...(await client.sendAll(afterReset()))];
      };
      const [theirs, mine] = await Promise.all([run(qemu.client), run(ours)]);
      await ours.close();
      const lines = [...beforeReset(), ...afterReset()];
      const differences = lines
        .map((line, i) => ({ line, qemu: theirs[i], ours: mine[i] }))
        .filter((row) => row.qemu !== row.ours);
      assert.deepEqual(differences, []);
      // What the spec asks, on both: bypass was 0 before the reset and is 1 after it.
      assert.equal(mine[beforeReset().indexOf(`writeb ${BYPASS} 0`) + 1], 'OK 0x0000000000000000');
      assert.equal(
        mine[beforeReset().length + afterReset().indexOf(`readb ${BYPASS}`)],
        'OK 0x0000000000000001',
      );
    } finally {
      await server.close();
      await qemu.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
